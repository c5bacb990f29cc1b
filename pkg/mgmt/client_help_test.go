// SPDX-License-Identifier: GPL-2.0-or-later

package mgmt

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// switchHelp is vde_switch r586's help data (reference section 6.2), abridged.
var switchHelp = []string{
	"COMMAND PATH       SYNTAX          HELP",
	"------------       --------------  ------------",
	"ds                 ============    DATA SOCKET MENU",
	"ds/showinfo                        show ds info",
	"help               [arg]           Help (limited to arg when specified)",
	"logout                             logout from this mgmt terminal",
	"hash/find          MAC [VLAN]      MAC lookup",
	"fstp/setedge       VLAN PORT 1/0   Define an edge port for a vlan 1=Y 0=N",
	"port/createauto                    create a port with an automatically allocated id (inactive|notallocatable)",
	"port/setvlan       N VLAN          set port VLAN (untagged)",
	"a/very/long/command/path N         too long for the column",
}

// wirefilterHelp is wirefilter r586's help data (reference section 10.5), abridged.
var wirefilterHelp = []string{
	"COMMAND      HELP",
	"------------ ------------",
	"help         print a summary of mgmt commands",
	"showinfo     show status and parameter values",
	"delay        set delay ms",
	"markov-numnodes n  markov mode: set number of states",
	"markov-name n,name markov mode: set state's name",
	"setedge n1,n2,w    markov mode: set edge weight",
	"showinfo n         markov mode: show parameter values",
	"showcurrent        markov mode: show current state",
}

func TestParseHelp(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []HelpEntry
	}{
		{"switch", switchHelp, []HelpEntry{
			{Path: "ds", Help: "DATA SOCKET MENU", Menu: true},
			{Path: "ds/showinfo", Help: "show ds info"},
			{Path: "help", Syntax: "[arg]", Help: "Help (limited to arg when specified)"},
			{Path: "logout", Help: "logout from this mgmt terminal"},
			{Path: "hash/find", Syntax: "MAC [VLAN]", Help: "MAC lookup"},
			{Path: "fstp/setedge", Syntax: "VLAN PORT 1/0", Help: "Define an edge port for a vlan 1=Y 0=N"},
			{Path: "port/createauto", Help: "create a port with an automatically allocated id (inactive|notallocatable)"},
			{Path: "port/setvlan", Syntax: "N VLAN", Help: "set port VLAN (untagged)"},
			{Path: "a/very/long/command/path", Syntax: "N", Help: "too long for the column"},
		}},
		{"wirefilter", wirefilterHelp, []HelpEntry{
			{Path: "help", Help: "print a summary of mgmt commands"},
			{Path: "showinfo", Syntax: "[n]", Help: "show status and parameter values"},
			{Path: "delay", Help: "set delay ms"},
			{Path: "markov-numnodes", Syntax: "n", Help: "markov mode: set number of states"},
			{Path: "markov-name", Syntax: "n,name", Help: "markov mode: set state's name"},
			{Path: "setedge", Syntax: "n1,n2,w", Help: "markov mode: set edge weight"},
			{Path: "showcurrent", Help: "markov mode: show current state"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseHelp(tc.in)); diff != "" {
				t.Errorf("ParseHelp mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
