/* cluster/cqemu.c: QEMU's version and machine types as P/h/H/info holds them. */
#include "cluster/cqemu.h"
#include "tests/unit/tap.h"

int main(void)
{
	char v[33], m[4097], small[20];
	cqemu_version("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright\n",
		      v, sizeof(v));
	is_str(v, "7.2.22", "the version: its digits and dots only");
	cqemu_version("something else\n", v, sizeof(v));
	is_str(v, "", "no version line: none");
	cqemu_version("QEMU emulator version 12345678901234567890123456789012345.1\n", v, sizeof(v));
	is_str(v, "", "a version too long: none, not a cut one");
	const char *help = "Supported machines are:\n"
			   "microvm              microvm (i386)\n"
			   "pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n"
			   "pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)\n"
			   "x/y                  not a word\n"
			   "none                 empty machine\n";
	cqemu_machines(help, m, sizeof(m));
	is_str(m, "microvm pc pc-i440fx-7.2 none", "the machines: each line's first word, one space apart");
	cqemu_machines(help, small, sizeof(small));
	is_str(small, "microvm pc", "as many as fit, none cut");
	cqemu_machines("pc  Standard PC\n", m, sizeof(m));
	is_str(m, "", "nothing before 'Supported machines are:': none");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
