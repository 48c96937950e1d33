/* libFuzzer target for the frame parser of runtime/addrlearn.c (guest bytes, untrusted).
 * Built and run by `make fuzz` and tests/fuzz/run (build/fuzz/fuzz_addrlearn).
 * The input is the frame, copied to a buffer of exactly its size so that ASan sees any read
 * past its end. Whatever the parser reports must also be sound: a unicast MAC and an address
 * that parses back to itself. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/addrlearn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *frame = malloc(size ? size : 1), mac[6], bin[16];
	char addr[ADDRLEARN_ADDRLEN], back[ADDRLEARN_ADDRLEN];
	int kind, af;

	if (!frame)
		return 0;
	memcpy(frame, data, size);
	kind = addrlearn_parse(frame, size, mac, addr);
	free(frame);
	if (kind == ADDRLEARN_NONE)
		return 0;
	if (kind < ADDRLEARN_NONE || kind > ADDRLEARN_DHCP || (mac[0] & 1))
		abort();
	af = kind == ADDRLEARN_ND ? AF_INET6 : AF_INET;
	if (memchr(addr, 0, sizeof addr) == NULL || inet_pton(af, addr, bin) != 1 ||
	    !inet_ntop(af, bin, back, sizeof back) || strcmp(addr, back) != 0)
		abort();
	return 0;
}
