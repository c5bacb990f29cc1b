// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
)

// maxReplyLine bounds a line (or unterminated tail) the client buffers; a longer one is an error.
const maxReplyLine = 1 << 20

// errReplyLineTooLong is returned by the replyScanner when the peer sends more than maxReplyLine bytes without a newline.
var errReplyLineTooLong = errors.New("peer line longer than 1 MiB")

// A Reply is the answer to one command.
//
// Code is the 4-digit code of the result line as sent: 1000 for "1000 Success", 1000+errno for "1%03d text"
// (so wirefilter's "1-01 Unknown error -1" is 999), 9999 for "9999 END OF SESSION", and 0 when the peer sent
// the prompt without any result line. Text is the result text ("Success", "Invalid argument"). Data holds the
// lines of the "0000 DATA END WITH '.'" blocks without the framing, in order, and also any other line that was
// neither data, result nor asynchronous (such as load's echo lines and the result lines of the commands load
// ran, which come before load's own result). Asynchronous 3xxx lines are never in a Reply.
type Reply struct {
	Command string   `json:"command"`
	Code    int      `json:"code"`
	Text    string   `json:"text"`
	Data    []string `json:"data"`
}

// Errno returns the errno the result line carries: 0 for success, no result or end of session, -1 for
// wirefilter's "1-01", otherwise Code-1000.
func (r *Reply) Errno() int {
	if r.Code >= 999 && r.Code <= 1999 {
		return r.Code - CodeSuccess
	}
	return 0
}

// OK reports whether the command succeeded (Errno() == 0).
func (r *Reply) OK() bool { return r.Errno() == 0 }

// Ended reports whether the peer ended the session with "9999 END OF SESSION".
func (r *Reply) Ended() bool { return r.Code == CodeEndOfSession }

// IsAsyncLine reports whether line is an asynchronous event line: "3" and three more digits, then a space or
// the end of the line (switch debug output "3031 port/ep/+ ...", wirefilter Markov debug "3801 Node ...").
// Like vdeterm, the client treats such a line as asynchronous wherever it appears.
func IsAsyncLine(line string) bool {
	if len(line) < 4 || line[0] != '3' || !replyDigits(line[1:4]) {
		return false
	}
	return len(line) == 4 || line[4] == ' '
}

// parseResultLine parses "1NNN text" (NNN may be "-NN", as printf("1%03d", -1) gives "1-01") and returns the
// Reply code and text. A 9999 line is also a result.
func parseResultLine(line string) (code int, text string, ok bool) {
	if len(line) < 4 || (len(line) > 4 && line[4] != ' ') {
		return 0, "", false
	}
	text = ""
	if len(line) > 5 {
		text = line[5:]
	}
	switch {
	case line[:4] == endCode:
		return CodeEndOfSession, text, true
	case line[0] != '1':
		return 0, "", false
	case replyDigits(line[1:4]):
		n, _ := strconv.Atoi(line[1:4])
		return CodeSuccess + n, text, true
	case line[1] == '-' && replyDigits(line[2:4]):
		n, _ := strconv.Atoi(line[2:4])
		return CodeSuccess - n, text, true
	}
	return 0, "", false
}

func replyDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// A replyTok says what the replyScanner found.
type replyTok int

const (
	tokLine   replyTok = iota // a complete line, without "\n" (and without a trailing "\r")
	tokPrompt                 // the prompt, alone after the last newline
	tokEnd                    // "9999 END OF SESSION" without a newline, or at EOF
)

// A replyScanner splits the byte stream from a management peer into lines, prompts and the end of session.
// Before the prompt is known (prompt == ""), the first unterminated tail that ends in "$ " becomes the prompt.
// While holdPrompt (if set) returns true, for example inside a data block, a tail equal to the prompt is
// left as the start of a line.
type replyScanner struct {
	buf        []byte
	prompt     string
	holdPrompt func() bool
}

// feed appends p and calls emit for every token it completes. It returns errReplyLineTooLong when the
// unterminated tail grows past maxReplyLine.
func (s *replyScanner) feed(p []byte, emit func(replyTok, string)) error {
	s.buf = append(s.buf, p...)
	for {
		// the prompt at the start of a line, maybe followed by what the peer sent next (an async line)
		if s.prompt != "" && bytes.HasPrefix(s.buf, []byte(s.prompt)) && (s.holdPrompt == nil || !s.holdPrompt()) {
			s.buf = s.buf[len(s.prompt):]
			emit(tokPrompt, s.prompt)
			continue
		}
		i := bytes.IndexByte(s.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimSuffix(string(s.buf[:i]), "\r")
		s.buf = s.buf[i+1:]
		if strings.HasPrefix(line, endCode) {
			emit(tokEnd, line)
			continue
		}
		emit(tokLine, line)
	}
	if len(s.buf) == 0 {
		s.buf = s.buf[:0:0] // let a large reply's backing array go
		return nil
	}
	tail := string(s.buf)
	switch {
	case s.prompt == "" && strings.HasSuffix(tail, "$ "):
		s.prompt = tail
		s.buf = s.buf[:0]
		emit(tokPrompt, tail)
	case tail == EndOfSession:
		s.buf = s.buf[:0]
		emit(tokEnd, tail)
	case len(s.buf) > maxReplyLine:
		return errReplyLineTooLong
	}
	return nil
}

// eof flushes an unterminated tail at the end of the stream.
func (s *replyScanner) eof(emit func(replyTok, string)) {
	if len(s.buf) == 0 {
		return
	}
	tail := string(s.buf)
	s.buf = nil
	if strings.HasPrefix(tail, endCode) {
		emit(tokEnd, tail)
		return
	}
	emit(tokLine, tail)
}

// An replyAssembler builds Replies from replyScanner tokens. Asynchronous lines are handed back to the caller.
type replyAssembler struct {
	inData    bool // inside a data block (so active)
	cur       Reply
	result    string // the raw pending result line, moved into Data if another line follows it
	hasResult bool
	active    bool // something of a reply has been seen since the last prompt
}

// token processes one token. It returns async=true for an asynchronous line (which the caller delivers),
// and done=true with the finished Reply at a prompt or at the end of session.
func (a *replyAssembler) token(k replyTok, line string) (async, done bool, r Reply) {
	switch k {
	case tokPrompt:
		return false, true, a.finish()
	case tokEnd:
		a.flushResult()
		a.cur.Code, a.cur.Text, _ = parseResultLine(line)
		if a.cur.Code != CodeEndOfSession { // "9999" with no text, or garbage after 9999
			a.cur.Code = CodeEndOfSession
		}
		a.hasResult = true
		return false, true, a.finish()
	}
	if IsAsyncLine(line) {
		return true, false, Reply{}
	}
	if a.inData {
		if line == DataEnd {
			a.inData = false
			return false, false, Reply{}
		}
		a.cur.Data = append(a.cur.Data, line)
		return false, false, Reply{}
	}
	if line == "" { // the newline before the prompt, or a blank line outside any block: ignored
		return false, false, Reply{}
	}
	a.active = true
	if line == DataHeader || strings.HasPrefix(line, "0000 ") {
		a.flushResult()
		a.inData = true
		return false, false, Reply{}
	}
	if code, text, ok := parseResultLine(line); ok {
		a.flushResult()
		a.cur.Code, a.cur.Text, a.result, a.hasResult = code, text, line, true
		return false, false, Reply{}
	}
	a.flushResult()
	a.cur.Data = append(a.cur.Data, line)
	return false, false, Reply{}
}

// flushResult moves a pending result line into Data: it was not the last one (load runs several commands).
func (a *replyAssembler) flushResult() {
	if a.hasResult {
		a.cur.Data = append(a.cur.Data, a.result)
		a.cur.Code, a.cur.Text, a.result, a.hasResult = 0, "", "", false
	}
}

func (a *replyAssembler) finish() Reply {
	r := a.cur
	if r.Data == nil {
		r.Data = []string{}
	}
	*a = replyAssembler{}
	return r
}

// complete reports whether the reply so far ends with a result line, outside any data block.
func (a *replyAssembler) complete() bool { return a.hasResult && !a.inData }

// pending reports whether part of a reply has been received since the last prompt.
func (a *replyAssembler) pending() bool { return a.active || a.inData || a.hasResult }
