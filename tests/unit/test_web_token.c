/* web/token.c: the door's token file, made when missing or untrusted, kept otherwise. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "web/token.h"

static char dir[] = "/tmp/vmfs-token-XXXXXX";

static void put(const char *text, mode_t mode)
{
	char p[64];
	snprintf(p, sizeof(p), "%s/%s", dir, TOKEN_FILE);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (write(fd, text, strlen(text)) < 0)
		perror("write");
	fchmod(fd, mode);
	close(fd);
}

int main(void)
{
	char tok[TOKEN_HEX + 1], again[TOKEN_HEX + 1], err[256], p[64];
	bool made;
	struct stat st;
	if (!mkdtemp(dir))
		return 1;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	snprintf(p, sizeof(p), "%s/%s", dir, TOKEN_FILE);

	ok(token_load(dfd, tok, &made, err, sizeof(err)) == 0 && made, "no file: a token is made");
	ok(strlen(tok) == TOKEN_HEX && strspn(tok, "0123456789abcdef") == TOKEN_HEX,
	   "64 hex digits (%s)", tok);
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "the file is 0600 (%o)",
	   st.st_mode & 0777);
	is_str(slurp(p), tok, "it holds the token");
	ok(token_load(dfd, again, &made, err, sizeof(err)) == 0 && !made && !strcmp(tok, again),
	   "the next start keeps it");
	ok(token_is(tok, again), "token_is: the same");
	again[TOKEN_HEX - 1] ^= 1;
	ok(!token_is(tok, again), "token_is: one digit off");
	again[TOKEN_HEX - 1] = 0;
	ok(!token_is(tok, again), "token_is: one digit short");
	ok(!token_is(tok, ""), "token_is: empty");

	const char *good = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	put(good, 0600);
	ok(token_load(dfd, tok, &made, err, sizeof(err)) == 0 && !made && !strcmp(tok, good),
	   "a file written by hand (no newline) is kept");
	put(good, 0644);
	ok(token_load(dfd, tok, &made, err, sizeof(err)) == 0 && made && strcmp(tok, good),
	   "a file others may read: replaced by a new token");
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600, "the new one is 0600");
	put("00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\n", 0600);
	ok(token_load(dfd, tok, &made, err, sizeof(err)) == 0 && made, "not lowercase hex: replaced");
	put("0011\n", 0600);
	ok(token_load(dfd, tok, &made, err, sizeof(err)) == 0 && made, "too short: replaced");
	unlink(p);
	char victim[64];
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	put(good, 0600);
	rename(p, victim);
	if (symlink(victim, p) < 0)
		perror("symlink");
	ok(token_load(dfd, tok, &made, err, sizeof(err)) == 0 && made, "a symlink: replaced");
	ok(lstat(p, &st) == 0 && S_ISREG(st.st_mode), "by a regular file");
	is_str(slurp(victim), good, "its target untouched");
	unlink(victim);
	unlink(p);
	close(dfd);
	rmdir(dir);
	return tap_done();
}
