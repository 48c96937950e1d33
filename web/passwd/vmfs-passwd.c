/* vmfs-passwd: writes the HTTP door's password file (web/auth.h, docs/web-auth.md).
 *
 *   vmfs-passwd [-c COST] FILE USER [ro|rw|admin] [PATH]   sets USER's password (asked twice on a
 *                                                    terminal, else one line of stdin)
 *   vmfs-passwd -d FILE USER [PATH]                  removes USER's lines, or the one for PATH
 *
 * A user has one password: the new hash goes on all their lines. With ACCESS (and PATH,
 * default /) the rule for that PATH is replaced or added. Without them, a known user only gets
 * the new password, so that changing one never widens what they may do; a new user gets rw /.
 * The file is made with mode 0600 if missing; comments and other lines stay as they were. It
 * is written to a temporary file beside it, read back with auth_load, the vmfs server's own
 * parser, and only then renamed over the old one: an error leaves the file as it was.
 *
 * Without this command, a script can make a line with Debian's mkpasswd (package whois),
 * which knows bcrypt (-R is the cost; -s reads the password from stdin):
 *
 *     printf 'alice rw / %s\n' "$(mkpasswd -m bcrypt -R 12)" >>/etc/vmfs/web.passwd
 *
 * (Python's crypt module, the old way, is gone from Python 3.13.) */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "runtime/util.h"
#include "web/auth.h"

#define BCRYPT_MAX_PASS 72 /* bcrypt ignores what follows: refused rather than cut silently */

static const char usage[] = "usage: vmfs-passwd [-c COST] FILE USER [ro|rw|admin] [PATH]\n"
			    "       vmfs-passwd -d FILE USER [PATH]\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("vmfs-passwd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* What to do, from the command line. */
struct job {
	const char *file, *user, *access; /* access NULL: keep the user's rules as they are */
	char path[AUTH_PATH_MAX];	  /* "" when none was named */
	bool del;
	int cost;
	char hash[CRYPT_OUTPUT_SIZE];
};

static int job_parse(struct job *j, int argc, char **argv)
{
	char err[300], *end;
	int c, n;

	j->cost = 12;
	while ((c = getopt(argc, argv, "+c:dh")) != -1) {
		if (c == 'c') {
			j->cost = (int)strtol(optarg, &end, 10);
			if (*end || end == optarg || j->cost < 4 || j->cost > 31)
				return fail(
				    "\"%s\" is not a bcrypt cost: use 4 to 31 (each step doubles "
				    "the time a check takes)",
				    optarg);
		} else if (c == 'd') {
			j->del = true;
		} else {
			fputs(usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? -1 : 2;
		}
	}
	n = argc - optind;
	if (n < 2 || n > (j->del ? 3 : 4)) {
		fputs(usage, stderr);
		return 2;
	}
	j->file = argv[optind];
	j->user = argv[optind + 1];
	if (!j->del && n >= 3)
		j->access = argv[optind + 2];
	const char *path = NULL; /* none: all of the user's lines (-d), or their password only */
	if (j->del && n == 3)
		path = argv[optind + 2];
	else if (!j->del && n >= 3)
		path = n == 4 ? argv[optind + 3] : "/";
	if (auth_rule_check(j->user, j->access ? j->access : "rw", path ? path : "/", j->path, err,
			    sizeof err))
		return fail("%s", err);
	if (!path)
		j->path[0] = '\0';
	return 0;
}

/* The terminal as it was, for the signal handler: a ^C at the prompt must not leave the
 * terminal without echo. */
static int tty_fd = -1;
static struct termios tty_saved;

static void tty_restore(int sig)
{
	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void on_signals(void (*h)(int))
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], h);
}

/* One line of f without its line end; NULL at the end of input. */
static char *line_read(FILE *f)
{
	char *s = NULL;
	size_t cap = 0;
	ssize_t n = getline(&s, &cap, f);

	if (n < 0) {
		free(s);
		return NULL;
	}
	if (n > 0 && s[n - 1] == '\n')
		s[--n] = '\0';
	if (n > 0 && s[n - 1] == '\r')
		s[--n] = '\0';
	if (strlen(s) != (size_t)n) /* a NUL inside: crypt would see less than was typed */
		s[0] = '\0';
	return s;
}

/* Asks on the terminal with echo off (ECHONL still moves to the next line). Echo goes off
 * before the prompt shows, dropping what was typed ahead (it was echoed): what is typed once
 * the prompt is there is never shown. */
static char *tty_ask(FILE *tty, const char *prompt)
{
	struct termios quiet = tty_saved;
	char *s;

	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	tcsetattr(tty_fd, TCSAFLUSH, &quiet);
	fputs(prompt, tty);
	fflush(tty);
	s = line_read(tty);
	tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
	return s;
}

static void pass_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* From the terminal, asked twice, or one line of stdin for scripts. */
static char *pass_get(const char *user)
{
	char prompt[100];
	FILE *tty;
	char *p, *again;

	if (!isatty(STDIN_FILENO))
		return line_read(stdin);
	if (!(tty = fopen("/dev/tty", "r+e")) || tcgetattr(fileno(tty), &tty_saved) < 0) {
		fail("/dev/tty: %s", strerror(errno));
		return NULL;
	}
	tty_fd = fileno(tty);
	on_signals(tty_restore);
	snprintf(prompt, sizeof prompt, "Password for %s: ", user);
	p = tty_ask(tty, prompt);
	again = p && *p ? tty_ask(tty, "Again: ") : NULL;
	on_signals(SIG_DFL);
	fclose(tty);
	if (!p)
		fail("no password given: nothing changed");
	else if (*p && (!again || strcmp(p, again))) {
		fail("the two passwords differ: nothing changed");
		pass_free(p);
		p = NULL;
	}
	pass_free(again);
	return p;
}

static int hash_make(struct job *j)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], *pass = pass_get(j->user);
	struct crypt_data d;
	const char *h;
	int r = 1;

	if (!pass && isatty(STDIN_FILENO))
		return 1; /* pass_get said why */
	if (!pass)
		fail("no password on standard input: nothing changed");
	else if (!*pass)
		fail("an empty password is refused: nothing changed");
	else if (strlen(pass) > BCRYPT_MAX_PASS)
		fail("bcrypt uses only the first %d bytes of a password: use a shorter one",
		     BCRYPT_MAX_PASS);
	else if (!crypt_gensalt_rn("$2b$", j->cost, NULL, 0, salt, sizeof salt))
		fail("crypt_gensalt: %s", strerror(errno));
	else if (!(h = crypt_rn(pass, salt, &d, sizeof d)))
		fail("crypt: %s", strerror(errno));
	else
		r = snprintf(j->hash, sizeof j->hash, "%s", h) < 0;
	explicit_bzero(&d, sizeof d);
	pass_free(pass);
	return r;
}

/* The edit, line by line: what is kept, replaced and counted. */
struct edit {
	const struct job *j;
	struct sbuf out;
	int user_lines; /* the user's lines kept (with the new hash) or removed */
	bool replaced;	/* the rule for j->path was there */
};

/* The blank-separated fields of line[0..len): their starts and lengths, at most 5. */
static int fields_of(const char *line, size_t len, size_t at[5], size_t n[5])
{
	size_t i = 0;
	int k = 0;

	while (k < 5) {
		while (i < len && strchr(" \t\r\v\f", line[i]))
			i++;
		if (i == len)
			break;
		at[k] = i;
		while (i < len && !strchr(" \t\r\v\f", line[i]))
			i++;
		n[k] = i - at[k];
		k++;
	}
	return k;
}

/* Line (without its newline) is a rule of the job's user: its path, normalised, in norm. */
static bool users_line(const struct job *j, const char *line, size_t len, size_t at[5], size_t n[5],
		       char norm[AUTH_PATH_MAX])
{
	char path[AUTH_PATH_MAX], err[200];

	if (fields_of(line, len, at, n) != 4 || n[0] != strlen(j->user) ||
	    strncmp(line, j->user, n[0]) || n[2] >= sizeof path)
		return false;
	snprintf(path, sizeof path, "%.*s", (int)n[2], line + at[2]);
	if (auth_rule_check(j->user, "rw", path, norm, err, sizeof err))
		snprintf(norm, AUTH_PATH_MAX, "%s", path); /* the parser will say what is wrong */
	return true;
}

static void edit_line(struct edit *e, const char *line, size_t len)
{
	const struct job *j = e->j;
	size_t at[5], n[5];
	char norm[AUTH_PATH_MAX];
	bool same;

	if (!users_line(j, line, len, at, n, norm)) {
		sb_add(&e->out, line, len);
	} else {
		same = j->path[0] && !strcmp(norm, j->path);
		if (j->del && (same || !j->path[0])) {
			e->user_lines++;
			return; /* removed */
		}
		if (j->del)
			sb_add(&e->out, line, len);
		else if (same && j->access && !e->replaced)
			sb_printf(&e->out, "%s %s %s %s", j->user, j->access, j->path, j->hash);
		else /* the new hash in place of the old, the rest as it was */
			sb_printf(&e->out, "%.*s%s%.*s", (int)at[3], line, j->hash,
				  (int)(len - at[3] - n[3]), line + at[3] + n[3]);
		if (!j->del) {
			e->user_lines++;
			e->replaced |= same && j->access;
		}
	}
	sb_add(&e->out, "\n", 1);
}

/* The new text of the file, from the old (NULL when there is none). */
static int edit_text(struct edit *e, const char *old)
{
	const struct job *j = e->j;
	const char *s, *nl;

	for (s = old; s && *s; s = *nl ? nl + 1 : nl) {
		nl = strchrnul(s, '\n');
		edit_line(e, s, (size_t)(nl - s));
	}
	if (!j->del && !e->replaced && (j->access || !e->user_lines))
		sb_printf(&e->out, "%s %s %s %s\n", j->user, j->access ? j->access : "rw",
			  j->path[0] ? j->path : "/", j->hash);
	if (j->del && !e->user_lines)
		return fail("%s has no line%s%s in %s: nothing changed", j->user,
			    j->path[0] ? " for " : "", j->path, j->file);
	return sb_err(&e->out) ? fail("%s", strerror(ENOMEM)) : 0;
}

/* Writes text beside file, checks it with the server's own parser, then renames it over
 * file. The mode stays (less any write bit for group and others, which the server refuses),
 * 0600 for a new file; so does the owner, when we may set it. */
static int file_replace(const char *file, const char *text, size_t len, const struct stat *old)
{
	char tmp[PATH_MAX + 16], err[600];
	struct auth *a;
	int fd, e;

	snprintf(tmp, sizeof tmp, "%s.XXXXXX", file);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return fail("%s: %s", tmp, strerror(errno));
	if (old && fchown(fd, old->st_uid, old->st_gid) < 0 && errno != EPERM)
		e = errno;
	else if (fchmod(fd, old ? old->st_mode & 0755 : 0600) < 0 ||
		 write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		e = errno;
	else
		e = 0;
	if (close(fd) < 0 && !e)
		e = errno;
	if (e) {
		unlink(tmp);
		return fail("%s: %s: nothing changed", tmp, strerror(e));
	}
	if (auth_load(tmp, &a, err, sizeof err)) {
		unlink(tmp);
		size_t tl = strlen(tmp);
		return fail("%s%s: nothing changed", file, strncmp(err, tmp, tl) ? err : err + tl);
	}
	auth_free(a);
	if (rename(tmp, file) < 0) {
		e = errno;
		unlink(tmp);
		return fail("%s: %s: nothing changed", file, strerror(e));
	}
	return 0;
}

/* The old file's text (NULL if it is missing) and its stat; a link is followed, so that its
 * target is the file replaced. */
static int file_old(struct job *j, char real[PATH_MAX], char **text, struct stat *st)
{
	int e;

	*text = NULL;
	if (!realpath(j->file, real)) {
		if (errno != ENOENT || j->del)
			return fail("%s: %s", j->file, strerror(errno));
		snprintf(real, PATH_MAX, "%s", j->file);
		return 0;
	}
	if (stat(real, st) < 0)
		return fail("%s: %s", j->file, strerror(errno));
	if ((e = read_small(AT_FDCWD, real, 16 << 20, text, NULL)))
		return fail("%s: %s", j->file, strerror(-e));
	return 0;
}

static void report(const struct edit *e)
{
	const struct job *j = e->j;

	if (j->del)
		printf("%s: %d line%s of %s removed\n", j->file, e->user_lines,
		       e->user_lines == 1 ? "" : "s", j->user);
	else if (j->access)
		printf("%s: %s %s %s %s; the password is set on all %s's lines\n", j->file, j->user,
		       j->access, j->path, e->replaced ? "replaced" : "added", j->user);
	else
		printf("%s: the password of %s is set%s\n", j->file, j->user,
		       e->user_lines ? " on all their lines" : "; new user: rw /");
}

int main(int argc, char **argv)
{
	struct job j = {0};
	struct edit e = {.j = &j};
	char real[PATH_MAX];
	auto_free char *old = NULL;
	struct stat st;
	int r;

	if ((r = job_parse(&j, argc, argv)))
		return r < 0 ? 0 : r;
	if (file_old(&j, real, &old, &st) || (!j.del && hash_make(&j)))
		return 1;
	if ((r = edit_text(&e, old)) == 0 &&
	    (r = file_replace(real, e.out.p, e.out.len, old ? &st : NULL)) == 0)
		report(&e);
	sb_free(&e.out);
	return r;
}
