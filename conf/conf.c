#include "conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "ctl/ctl.h"
#include "ctl/util.h"

#define IFNAME_MAX 15 /* IFNAMSIZ less its NUL */

static int set_str(char **field, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(*field);
	*field = v;
	return 0;
}

static bool has_control(const char *s, bool tab_ok)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && !(tab_ok && *s == '\t')) || *s == 0x7f)
			return true;
	return false;
}

static int refuse_control(const char *value, bool tab_ok, char *err, size_t errlen)
{
	char q[120];
	if (!has_control(value, tab_ok))
		return 0;
	return ctl_fail(err, errlen, "\"%s\" holds a control character",
			ctl_quote(value, strlen(value), q, sizeof(q)));
}

static int set_path(char **field, const char *value, const char *dir, char *err, size_t errlen)
{
	if (!*value)
		return ctl_fail(err, errlen, "the path is empty (leave it out for the default)");
	if (refuse_control(value, false, err, errlen))
		return -EINVAL;
	char *abs = NULL;
	if (value[0] == '/' || !dir)
		abs = strdup(value);
	else if (asprintf(&abs, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", value) < 0)
		abs = NULL;
	if (!abs)
		return -ENOMEM;
	if (strlen(abs) > CONF_PATH_MAX) {
		free(abs);
		return ctl_fail(err, errlen, "the path is longer than %d bytes", CONF_PATH_MAX);
	}
	free(*field);
	*field = abs;
	return 0;
}

static int set_bool(bool *field, const char *value, char *err, size_t errlen)
{
	return value_bool(value, field, err, errlen);
}

/* What the kernel takes as a link name (dev_valid_name), so that a bad one is refused here
 * rather than cut short or refused when the first VLAN needs it. */
static int set_ifname(char **field, const char *value, char *err, size_t errlen)
{
	char q[120];
	size_t n = strlen(value);
	if (n > IFNAME_MAX)
		return ctl_fail(err, errlen, "\"%s\" is %zu bytes long; an interface name is at most %d",
				ctl_quote(value, n, q, sizeof(q)), n, IFNAME_MAX);
	if (!strcmp(value, ".") || !strcmp(value, "..") || strpbrk(value, "/: \t") ||
	    has_control(value, false))
		return ctl_fail(err, errlen, "\"%s\" is not an interface name (no '/', ':', blank or "
				"control character; not . or ..)", ctl_quote(value, n, q, sizeof(q)));
	return set_str(field, value);
}

static int set_addr(char **field, const char *value, char *err, size_t errlen)
{
	char q[120], host[INET_ADDRSTRLEN];
	const char *colon = strrchr(value, ':');
	struct in_addr a;
	uint64_t port = 0;
	if (*value &&
	    (!colon || colon == value || (size_t)(colon - value) >= sizeof(host) ||
	     ctl_uint(colon + 1, strlen(colon + 1), &port) || port < 1 || port > 65535 ||
	     (snprintf(host, sizeof(host), "%.*s", (int)(colon - value), value),
	      inet_pton(AF_INET, host, &a) != 1)))
		return ctl_fail(err, errlen, "\"%s\" is not ADDR:PORT, an IPv4 address and a port "
				"from 1 to 65535, as in 127.0.0.1:9001",
				ctl_quote(value, strlen(value), q, sizeof(q)));
	return set_str(field, value);
}

static int set_name(char **field, const char *value, char *err, size_t errlen)
{
	char why[200];
	if (name_check(value, why, sizeof(why)))
		return ctl_fail(err, errlen, "%s", why);
	return set_str(field, value);
}

static int set_ip(char **field, const char *value, char *err, size_t errlen)
{
	char q[120];
	unsigned char a[sizeof(struct in6_addr)];
	if (*value && inet_pton(AF_INET, value, a) != 1 && inet_pton(AF_INET6, value, a) != 1)
		return ctl_fail(err, errlen, "\"%s\" is not an IPv4 or IPv6 address (no port)",
				ctl_quote(value, strlen(value), q, sizeof(q)));
	return set_str(field, value);
}

static int set_ratio(char **field, const char *value, char *err, size_t errlen)
{
	uint64_t x;
	return value_ratio(value, 1, 1000000, &x, err, errlen) ? -EINVAL : set_str(field, value);
}

int conf_ports(const char *value, unsigned *lo, unsigned *hi, char *err, size_t errlen)
{
	char q[120];
	const char *dash = strchr(value, '-');
	uint64_t a = 0, b = 0;
	*lo = *hi = 0;
	if (!*value)
		return 0;
	if (!dash || ctl_uint(value, (size_t)(dash - value), &a) ||
	    ctl_uint(dash + 1, strlen(dash + 1), &b) || a < 1 || b > 65535 || a > b)
		return ctl_fail(err, errlen, "\"%s\" is not LO-HI, two ports from 1 to 65535 with "
				"LO <= HI, as in 49152-49215", ctl_quote(value, strlen(value), q, sizeof(q)));
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

static int set_ports(char **field, const char *value, char *err, size_t errlen)
{
	unsigned lo, hi;
	return conf_ports(value, &lo, &hi, err, errlen) ? -EINVAL : set_str(field, value);
}

static int set_opts(char **field, const char *value, char *err, size_t errlen)
{
	char q[120];
	if (refuse_control(value, false, err, errlen))
		return -EINVAL;
	size_t n = strlen(value);
	if (n && (value[0] == ',' || value[n - 1] == ',' || strstr(value, ",,")))
		return ctl_fail(err, errlen, "\"%s\" has an empty option (a comma at an end, or two "
				"in a row)", ctl_quote(value, n, q, sizeof(q)));
	return set_str(field, value);
}

/* NAME=URL ... : each as hosts/ctl add checks it, and no name twice. */
static int set_members(char **field, const char *value, char *err, size_t errlen)
{
	char q[120];
	if (refuse_control(value, true, err, errlen))
		return -EINVAL;
	char *buf = strdup(value), *save = NULL;
	if (!buf)
		return -ENOMEM;
	int r = 0, n = 0;
	const char *names[64];
	for (char *m = strtok_r(buf, " \t", &save); m && !r; m = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(m, '='), why[300];
		if (!eq || eq == m) {
			r = ctl_fail(err, errlen, "\"%s\" is not NAME=URL", ctl_quote(m, strlen(m), q, sizeof(q)));
			break;
		}
		*eq = 0;
		if (name_check(m, why, sizeof(why)) || member_url_check(eq + 1, why, sizeof(why))) {
			r = ctl_fail(err, errlen, "%s: %s", ctl_quote(m, strlen(m), q, sizeof(q)), why);
			break;
		}
		for (int i = 0; i < n; i++)
			if (!strcmp(names[i], m))
				r = ctl_fail(err, errlen, "%s is given twice", m);
		if (n == (int)(sizeof(names) / sizeof(*names)))
			r = ctl_fail(err, errlen, "more than %d members", n);
		else
			names[n++] = m;
	}
	free(buf);
	return r ? r : set_str(field, value);
}

#define CONF_SET_path(field, value, dir, err, errlen) set_path(&(field), value, dir, err, errlen)
#define CONF_SET_bool(field, value, dir, err, errlen) set_bool(&(field), value, err, errlen)
#define CONF_SET_ifname(field, value, dir, err, errlen) set_ifname(&(field), value, err, errlen)
#define CONF_SET_addr(field, value, dir, err, errlen) set_addr(&(field), value, err, errlen)
#define CONF_SET_opts(field, value, dir, err, errlen) set_opts(&(field), value, err, errlen)
#define CONF_SET_members(field, value, dir, err, errlen) set_members(&(field), value, err, errlen)
#define CONF_SET_name(field, value, dir, err, errlen) set_name(&(field), value, err, errlen)
#define CONF_SET_ip(field, value, dir, err, errlen) set_ip(&(field), value, err, errlen)
#define CONF_SET_ratio(field, value, dir, err, errlen) set_ratio(&(field), value, err, errlen)
#define CONF_SET_ports(field, value, dir, err, errlen) set_ports(&(field), value, err, errlen)

int conf_set(struct vmfs_conf *c, const char *section, const char *key, const char *value,
	     const char *dir, char *err, size_t errlen)
{
	char q[120];
#define CONF_MATCH(sec, k, type, def, help)                                                        \
	if (!strcmp(section, #sec) && !strcmp(key, #k))                                            \
		return CONF_SET_##type(c->k, value, dir, err, errlen);
	VMFS_CONF_KEYS(CONF_MATCH)
#undef CONF_MATCH
	ctl_quote(key, strlen(key), q, sizeof(q));
	if (!*section)
		snprintf(err, errlen, "%s is outside any section (keys belong under [vmfs])", q);
	else
		snprintf(err, errlen, "unknown key \"%s\" in [%s]", q, section);
	return -EINVAL;
}

int conf_defaults(struct vmfs_conf *c)
{
	memset(c, 0, sizeof(*c));
#define CONF_DEF_flag(field, def) ((field) = !strcmp(def, "true"), 0)
#define CONF_DEF_text(field, def) set_str(&(field), def)
#define CONF_DEF(sec, k, type, def, help)                                                          \
	if (CONF_CAT(CONF_DEF_, CONF_KIND_##type)(c->k, def))                                      \
		return -ENOMEM;
	VMFS_CONF_KEYS(CONF_DEF)
#undef CONF_DEF
	return 0;
}

enum {
#define CONF_INDEX(sec, k, type, def, help) CONF_KEY_##k,
	VMFS_CONF_KEYS(CONF_INDEX)
#undef CONF_INDEX
	CONF_NKEYS
};

static int key_index(const char *key)
{
	static const char *const names[] = {
#define CONF_NAME(sec, k, type, def, help) #k,
		VMFS_CONF_KEYS(CONF_NAME)
#undef CONF_NAME
	};
	for (int i = 0; i < CONF_NKEYS; i++)
		if (!strcmp(names[i], key))
			return i;
	return -1;
}

/* inih reads through reader() below, which counts lines, so that the handler knows where it
 * is and the lines inih would misread (too long, cut at a NUL, a section again, a value
 * continued on an indented line) are refused with their number. */
struct conf_parse {
	struct vmfs_conf *c;
	const char *cur, *end, *dir;
	int line, err_line;
	int key_line[CONF_NKEYS]; /* where each key was given, 0 if not yet */
	int vmfs_line;            /* where [vmfs] began */
	bool key_in_section;      /* inih takes an indented line after a key as more of its value */
	char err[400];
};

static char *fail(struct conf_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *fail(struct conf_parse *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	p->err_line = p->line;
	return NULL;
}

static char *reader(char *str, int num, void *stream)
{
	struct conf_parse *p = stream;
	if (p->err_line || p->cur >= p->end)
		return NULL;
	p->line++;
	const char *nl = memchr(p->cur, '\n', p->end - p->cur);
	size_t n = (nl ? nl : p->end) - p->cur;
	const char *s = p->cur;
	p->cur += n + (nl != NULL);
	if (memchr(s, 0, n))
		return fail(p, "a NUL byte: this is not a text file");
	if ((int)n > num - 2)
		return fail(p, "the line is longer than %d bytes, the most the INI reader takes",
			    num - 2);
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = 0;
	if (p->line == 1 && !strncmp(str, "\xEF\xBB\xBF", 3)) /* inih skips a UTF-8 BOM */
		s = str + 3;
	else
		s = str;
	const char *start = s + strspn(s, " \t\r\v\f");
	if (!*start || *start == '\n' || *start == ';' || *start == '#')
		return str;
	if (start > s && p->key_in_section)
		return fail(p, "an indented line after a key: INI would read it as more of that "
			    "key's value; write each key = value on one line, from its start");
	if (*start == '[') {
		p->key_in_section = false;
		size_t len = strcspn(start + 1, "]\n");
		char q[120];
		if (start[1 + len] != ']')
			return str; /* inih says what is wrong with it */
		if (len != 4 || strncmp(start + 1, "vmfs", 4))
			return fail(p, "unknown section [%s] (the only section is [vmfs])",
				    ctl_quote(start + 1, len, q, sizeof(q)));
		if (p->vmfs_line)
			return fail(p, "a second [vmfs] section (the first is on line %d)", p->vmfs_line);
		p->vmfs_line = p->line;
	}
	return str;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_parse *p = user;
	char why[300];
	if (p->err_line)
		return 1;
	p->key_in_section = true;
	int k = key_index(key);
	if (k >= 0 && *section && p->key_line[k]) {
		fail(p, "%s is given twice (first on line %d)", key, p->key_line[k]);
		return 1;
	}
	if (conf_set(p->c, section, key, value, p->dir, why, sizeof(why))) {
		if (k >= 0 && *section)
			fail(p, "%s: %s", key, why);
		else
			fail(p, "%s", why);
		return 1;
	}
	if (k >= 0)
		p->key_line[k] = p->line;
	return 1;
}

int conf_parse(struct vmfs_conf *c, const char *text, size_t len, const char *name,
	       const char *dir, char *err, size_t errlen)
{
	struct conf_parse *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*p = (struct conf_parse){.c = c, .cur = text, .end = text + len, .dir = dir};
	int line = ini_parse_stream(reader, p, handler, p), r = -EINVAL;
	if (line > 0 && (!p->err_line || line < p->err_line))
		snprintf(err, errlen, "%s:%d: not an INI line (expected [section] or key = value)",
			 name, line);
	else if (p->err_line)
		snprintf(err, errlen, "%s:%d: %s", name, p->err_line, p->err);
	else if (line < 0)
		snprintf(err, errlen, "%s: %s", name, strerror(ENOMEM));
	else
		r = 0;
	free(p);
	return r;
}

/* The directory holding path, absolute: the base of the file's relative paths. */
static char *dir_of(const char *path)
{
	char *d = strdup(path), *out = NULL, cwd[PATH_MAX];
	if (!d)
		return NULL;
	char *slash = strrchr(d, '/');
	if (slash)
		slash[slash == d] = 0; /* "/x" keeps "/" */
	if (slash && d[0] == '/')
		return d;
	if (getcwd(cwd, sizeof(cwd)) &&
	    asprintf(&out, "%s%s%s", cwd, slash ? "/" : "", slash ? d : "") < 0)
		out = NULL;
	free(d);
	return out;
}

int conf_load(struct vmfs_conf *c, const char *path, char *err, size_t errlen)
{
	/* not blocking on a FIFO, and bounded: the file is only checked once it is read */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
		snprintf(err, errlen, S_ISREG(st.st_mode) ? "%s: larger than %d KiB: not a vmfs.conf"
							  : "%s: not a regular file",
			 path, CONF_FILE_MAX / 1024);
		close(fd);
		return -EINVAL;
	}
	char *text = malloc(CONF_FILE_MAX + 1), *dir = dir_of(path);
	ssize_t n = text && dir ? read(fd, text, CONF_FILE_MAX + 1) : -1;
	int e = errno;
	close(fd);
	int r;
	if (n < 0 || n > CONF_FILE_MAX) {
		snprintf(err, errlen, "%s: %s", path, n < 0 ? strerror(e) : "grew while read");
		r = n < 0 ? -e : -EINVAL;
	} else if (!(r = conf_parse(c, text, n, path, dir, err, errlen)))
		r = set_str(&c->path, path);
	free(text);
	free(dir);
	return r;
}

void conf_free(struct vmfs_conf *c)
{
#define CONF_FREE_text(field) free(field);
#define CONF_FREE_flag(field)
#define CONF_FREE(sec, k, type, def, help) CONF_CAT(CONF_FREE_, CONF_KIND_##type)(c->k)
	VMFS_CONF_KEYS(CONF_FREE)
#undef CONF_FREE
	free(c->path);
}

void conf_usage(FILE *out)
{
#define CONF_USAGE(sec, k, type, def, help)                                                        \
	fprintf(out, "  [%s] %-12s %s (default: %s)\n", #sec, #k, help, *def ? def : "none");
	VMFS_CONF_KEYS(CONF_USAGE)
#undef CONF_USAGE
}
