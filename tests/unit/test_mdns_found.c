/* mdns/found.c: what other vmfs announce, checked (TXT items are anyone's bytes on the LAN)
 * and laid out as hosts/discovered. */
#include <stdlib.h>

#include "mdns/found.h"
#include "tests/unit/tap.h"

/* found_set with TXT items given as C strings */
static int set(struct found *f, const char *addr, uint16_t port, const char *const *txt, size_t n,
	       char *err)
{
	size_t len[16];
	for (size_t i = 0; i < n; i++)
		len[i] = strlen(txt[i]);
	return found_set(f, addr, port, txt, len, n, err, 200);
}

static const char *table(const struct found_tab *t)
{
	static struct sbuf b;
	sb_free(&b);
	b = (struct sbuf){0};
	found_table(t, &b);
	sb_add(&b, "", 1);
	return b.p;
}

#define HEAD "host\tservice\taddress\tport\tversion\turl\n"

int main(void)
{
	struct found_tab t = {0};
	char err[200] = "";
	is_str(table(&t), HEAD, "no service: the header alone");

	struct found *w = found_add(&t, 2, "h1", "_http._tcp", "local");
	const char *web[] = {"host=h1", "vmfs=0.1.0", "path=/"};
	ok(w && set(w, "10.0.0.1", 9001, web, 3, err) == 0, "a web door is listed (%s)", err);
	is_str(table(&t), HEAD "h1\thttp\t10.0.0.1\t9001\t0.1.0\thttp://10.0.0.1:9001/\n",
	       "its row: host, service, address, port, version and the URL");

	struct found *p = found_add(&t, 2, "h0", "_vmfs-9p._tcp", "local");
	const char *p9[] = {"vmfs=0.2~rc1", "host=h0", "vmfs=9.9"};
	ok(p && set(p, "10.0.0.2", 564, p9, 3, err) == 0, "a 9P door is listed (%s)", err);
	is_str(table(&t),
	       HEAD "h0\t9p\t10.0.0.2\t564\t0.2~rc1\t9p://10.0.0.2:564\n"
		    "h1\thttp\t10.0.0.1\t9001\t0.1.0\thttp://10.0.0.1:9001/\n",
	       "rows sorted by host; the first vmfs= item wins; a 9p:// URL for hosts/ctl add");

	struct found *d = found_add(&t, 3, "h1", "_http._tcp", "local");
	ok(d && set(d, "10.0.0.1", 9001, web, 3, err) == 0, "the same door on another interface");
	const char *once = strstr(table(&t), "h1\thttp");
	ok(once && !strstr(once + 1, "h1\thttp"), "is listed once");
	ok(found_get(&t, 3, "h1", "_http._tcp", "local") == d, "found_get finds a row by its names");
	ok(!found_get(&t, 4, "h1", "_http._tcp", "local"), "and not on another interface");
	found_drop(&t, d);
	found_drop(&t, p);
	is_str(table(&t), HEAD "h1\thttp\t10.0.0.1\t9001\t0.1.0\thttp://10.0.0.1:9001/\n",
	       "dropped rows go");

	struct found *s = found_add(&t, 2, "h2", "_https._tcp", "local");
	const char *tls[] = {"host=h2", "vmfs=0.1.0", "path=/a/b"};
	ok(s && set(s, "10.0.0.3", 443, tls, 3, err) == 0, "an HTTPS door with a path");
	ok(strstr(table(&t), "h2\thttps\t10.0.0.3\t443\t0.1.0\thttps://10.0.0.3:443/a/b\n") != NULL,
	   "its URL is https:// with the path");

	struct found *x = found_add(&t, 2, "printer", "_http._tcp", "local");
	const char *other[] = {"path=/", "note=a printer"};
	ok(x && set(x, "10.0.0.9", 80, other, 2, err) == 1, "no vmfs= item: not a vmfs, nothing to say");
	ok(!strstr(table(&t), "10.0.0.9"), "and not listed");

	/* what a hostile LAN may say: each refused with a reason, and the row not listed */
	const struct {
		const char *txt[3];
		const char *why;
	} bad[] = {
		{{"vmfs=0.1\tx", "host=h3"}, "vmfs="},
		{{"vmfs=", "host=h3"}, "vmfs="},
		{{"vmfs=0.1", "host=h3\n"}, "host="},
		{{"vmfs=0.1", "host=-h3"}, "no member name"},
		{{"vmfs=0.1", "host=all"}, "no member name"},
		{{"vmfs=0.1"}, "no host="},
		{{"vmfs=0.1", "host=h3", "path=a b"}, "path="},
		{{"vmfs=0.1", "host=h3", "path=x/"}, "start with '/'"},
		{{"vmfs=0.1", "host=h3", "path=/\x1b[2J"}, "path="},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct found *b = found_add(&t, 2, "h3", "_http._tcp", "local");
		size_t n = bad[i].txt[2] ? 3 : bad[i].txt[1] ? 2 : 1;
		err[0] = 0;
		ok(b && set(b, "10.0.0.4", 80, bad[i].txt, n, err) == -EINVAL && strstr(err, bad[i].why),
		   "refused: %s (%s)", bad[i].why, err);
		ok(b && !strstr(table(&t), "10.0.0.4"), "and not listed");
		found_drop(&t, b);
	}
	const char *nul[] = {"host=h3\0x", "vmfs=0.1"};
	size_t len[] = {9, strlen(nul[1])};
	struct found *b = found_add(&t, 2, "h3", "_http._tcp", "local");
	ok(b && found_set(b, "10.0.0.4", 80, nul, len, 2, err, sizeof(err)) == -EINVAL,
	   "a NUL byte inside an item is refused (%s)", err);
	ok(b && set(b, "fe80::1", 80, web, 3, err) == -EINVAL && strstr(err, "IPv4"),
	   "an address that is not IPv4 is refused");
	ok(b && set(b, "10.0.0.4", 0, web, 3, err) == -EINVAL, "port 0 is refused");

	/* a row that said well once and ill later is no longer listed */
	ok(set(w, "10.0.0.1", 9001, bad[0].txt, 2, err) == -EINVAL, "h1 now says ill");
	ok(!strstr(table(&t), "h1\t"), "its row is no longer listed");

	char longname[80];
	memset(longname, 'n', 70);
	longname[70] = 0;
	ok(!found_add(&t, 2, longname, "_http._tcp", "local"), "a name longer than DNS-SD allows: no row");
	found_clear(&t);
	size_t made = 0;
	for (int i = 0; i < FOUND_MAX + 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "s%d", i);
		made += found_add(&t, 1, name, "_http._tcp", "local") != NULL;
	}
	ok(made == FOUND_MAX && t.n == FOUND_MAX, "at most %d rows (%zu)", FOUND_MAX, made);
	ok(!strcmp(found_service("_vmfs-9p._tcp"), "9p") && !found_service("_ipp._tcp"),
	   "the service types vmfs announces, and no other");
	found_clear(&t);
	table(&(struct found_tab){0});
	return tap_done();
}
