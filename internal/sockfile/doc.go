// SPDX-License-Identifier: GPL-2.0-or-later

// Package sockfile creates the socket files of a server that may run as root in a directory other users
// can write: vswitch's control and data sockets, its management socket.
//
// Binding a socket and then chmod(2)/chown(2)ing its path, as vde_switch does, follows whatever a user
// who may write the directory puts at that path in between: a symlink to /etc/shadow gets chowned to
// that user. Bind never lets that happen. It binds the socket in a fresh private directory (0700, ours,
// made next to the final name and reached only through its descriptor), gives the socket file its final
// owner and mode there, where nobody else can touch it, and then renames it into place. The name
// appears already complete, and no path anyone else controls is ever followed. Remove removes a name
// only while it still names the file Bind made.
//
// The sockets' own addresses (getsockname) are /proc/self/fd/N/NAME, the path they were bound at;
// peers connect to the final name, which is what matters. /proc must be mounted.
package sockfile
