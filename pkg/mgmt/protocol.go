// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"fmt"
	"io"
)

// Wire constants of the VDE management protocol, shared by the server and the client. They are the
// same for every VDE console (vde_switch, wirefilter); what differs per tool is in Config.
const (
	// ReadSize is the size of one read from a session: each read is one command. A longer line is
	// split into several commands, and rc files are read like fgets(buf, ReadSize, f).
	ReadSize = 128
	// MaxCommandLen is the longest command line a peer reads as one command: ReadSize bytes
	// including the newline.
	MaxCommandLen = ReadSize - 1

	// DataHeader opens the data block of commands that print data (it is sent followed by "\n").
	DataHeader = "0000 DATA END WITH '.'"
	// DataEnd is the line that closes a data block.
	DataEnd = "."

	// ResultSuccess is the result line of a command that succeeded (it is sent followed by "\n").
	ResultSuccess = "1000 Success"
	// CodeSuccess is the code of ResultSuccess; a failure is CodeSuccess+errno.
	CodeSuccess = 1000
	// ResultFormat is the result line of a failed command: errno (3 digits) and its glibc strerror.
	ResultFormat = "1%03d %s\n"

	// EndOfSession is written, with no newline, before the server closes a session (logout,
	// shutdown). It is the only end-of-session line of the protocol: the reference wirefilter
	// answers logout with the result line "1-01 Unknown error -1" and shutdown with nothing at all,
	// and the client reads both as an end of session too.
	EndOfSession = endCode + " " + endText
	endCode      = "9999"
	endText      = "END OF SESSION"
	// CodeEndOfSession is the code of EndOfSession.
	CodeEndOfSession = 9999

	// AsyncFormat is an asynchronous event line: "3", the event tag &0777 in 3 octal digits, the
	// category path and the message.
	AsyncFormat = "3%03o %s %s\n"
)

// writeResult appends the result line of err to w: "1000 Success" for nil, else ResultFormat with
// err's errno (see ErrnoOf).
func writeResult(w io.Writer, err error) {
	if err == nil {
		io.WriteString(w, ResultSuccess+"\n")
		return
	}
	e := ErrnoOf(err)
	fmt.Fprintf(w, ResultFormat, int(e), Strerror(e))
}
