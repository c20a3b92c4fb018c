// Package deploy holds kerf's deployment files for a Raspberry Pi (or any
// systemd Linux machine), installed as docs/install-pi.md describes:
//
//   - kerf.service: the systemd unit, hardened (dedicated user, read-only
//     system, only the serial and GPIO devices);
//   - sysusers.d/kerf.conf: the kerf user in the dialout and gpio groups;
//   - udev/99-kerf.rules: a stable /dev/grbl for the boards kerf targets;
//   - kerf.toml: an example /etc/kerf/kerf.toml.
//
// There is no Go API here: the package's tests check these files against
// the code they configure (config keys that exist and validate, the board
// USB IDs package hardware recognises, the unit's required hardening), so
// that a change on either side that breaks a deployment fails `go test`.
package deploy
