/* libFuzzer target for the 9P2000.L codec (p9/msg.c), the first code a 9P client's bytes
 * meet. Built and run by `make fuzz` and tests/fuzz/run. A message is either refused with a
 * reason or read whole: then its fields encode back to the very same bytes (nothing skipped,
 * nothing read that was not there), and its strings hold no NUL. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p9/msg.h"

static void no_nul(struct p9_str s)
{
	if (s.len && memchr(s.s, 0, s.len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t msizes[] = {P9_HDR, 64, 4096, 65536};
	struct p9_msg m;
	const char *why = NULL;
	if (!size)
		return 0;
	uint32_t msize = msizes[data[0] & 3];
	/* a copy of exactly the message's bytes, so ASan sees any read past them */
	size_t len = size - 1;
	uint8_t *buf = malloc(len ? len : 1), *out = malloc(len + 1);
	if (!buf || !out)
		goto done;
	memcpy(buf, data + 1, len);
	int rc = p9_decode(buf, len, msize, &m, &why);
	if (rc) {
		if ((rc != -EPROTO && rc != -EINVAL && rc != -EOPNOTSUPP) || !why || !*why)
			abort();
		goto done;
	}
	if (len > msize || len < P9_HDR || m.nwname > P9_MAXWELEM || m.nwqid > P9_MAXWELEM)
		abort();
	no_nul(m.s1);
	no_nul(m.s2);
	for (int i = 0; i < m.nwname; i++)
		no_nul(m.wname[i]);
	long n = p9_encode(&m, out, len + 1);
	if (n < 0 || (size_t)n != len || memcmp(out, buf, len))
		abort();
done:
	free(buf);
	free(out);
	return 0;
}
