// SPDX-License-Identifier: GPL-2.0-or-later

package wirefilter

import (
	"fmt"
	"io"

	"github.com/govde/govde/pkg/impair"
	"github.com/govde/govde/pkg/mgmt"
)

// showRows are showinfo's value lines, in order, with the reference's labels.
var showRows = []struct {
	label string
	p     impair.Param
}{
	{"Loss  ", impair.Loss}, {"Lburst", impair.LostBurst}, {"Delay ", impair.Delay}, {"Dup   ", impair.Dup},
	{"Bandw ", impair.Bandwidth}, {"Speed ", impair.Speed}, {"Noise ", impair.Noise},
	{"MTU   ", impair.MTU}, {"Cap.  ", impair.ChanBufSize},
}

// WriteInfo writes showinfo's block for Markov node node as the reference prints it.
func (f *Filter) WriteInfo(w io.Writer, node int) {
	e := f.e
	if f.bidir {
		io.WriteString(w, "WireFilter: bidirectional\n")
	} else {
		io.WriteString(w, "WireFilter: monodirectional\n")
	}
	if n := e.NumNodes(); n > 1 {
		fmt.Fprintf(w, "Node %d \"%s\" (0,..,%d) Markov-time %s\n", node, e.Name(node), n-1, impair.FormatG(e.MarkovTime()))
	}
	for _, r := range showRows {
		lr, rl := e.Value(r.p, impair.LR, node), e.Value(r.p, impair.RL, node)
		switch {
		case r.p == impair.MTU && f.bidir:
			fmt.Fprintf(w, "%s L->R %s     R->L %s   \n", r.label, impair.FormatG(lr.Value), impair.FormatG(rl.Value))
		case r.p == impair.MTU:
			fmt.Fprintf(w, "%s %s\n", r.label, impair.FormatG(lr.Value))
		case f.bidir:
			fmt.Fprintf(w, "%s L->R %s   R->L %s\n", r.label, lr, rl)
		default:
			fmt.Fprintf(w, "%s %s\n", r.label, lr)
		}
	}
	if f.bidir {
		fmt.Fprintf(w, "Current Delay Queue size:   L->R %d      R->L %d   \n", e.QueuedBytes(impair.LR), e.QueuedBytes(impair.RL))
	} else {
		fmt.Fprintf(w, "Current Delay Queue size:   %d\n", e.QueuedBytes(impair.LR))
	}
	fifo := "TRUE"
	if !e.FIFO() {
		fifo = "FALSE"
	}
	fmt.Fprintf(w, "Fifoness %s\n", fifo)
	fmt.Fprintf(w, "Waiting packets in delay queues %d\n", e.QueuedFrames())
	if f.blink != nil {
		fmt.Fprintf(w, "Blink socket: %s\n", f.blink.Path)
		fmt.Fprintf(w, "Blink id:     %s \n", f.blink.ID) // sic: a trailing blank
	}
}

func (c *Console) showinfo(_ *mgmt.Session, w io.Writer, arg string) error {
	node, err := c.nodeArg(arg)
	if err != nil {
		return err
	}
	c.f.WriteInfo(w, node)
	return nil
}

// showedges lists the edges of a node with a non-zero weight: "Edge %-2d->%-2d \"%s\"->\"%s\" weigth %g".
func (c *Console) showedges(_ *mgmt.Session, w io.Writer, arg string) error {
	node, err := c.nodeArg(arg)
	if err != nil {
		return err
	}
	e := c.f.e
	for j := range e.NumNodes() {
		if wt := e.Edge(node, j); wt != 0 {
			fmt.Fprintf(w, "Edge %-2d->%-2d \"%s\"->\"%s\" weigth %s\n", node, j, e.Name(node), e.Name(j), impair.FormatG(wt))
		}
	}
	return nil
}

func (c *Console) showcurrent(_ *mgmt.Session, w io.Writer, _ string) error {
	e := c.f.e
	cur := e.Current()
	fmt.Fprintf(w, "Current Markov Node %d \"%s\" (0,..,%d)\n", cur, e.Name(cur), e.NumNodes()-1)
	return nil
}
