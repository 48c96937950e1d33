/* fhandle: what an NFS server over the mount does with file handles (nfs-ganesha's FSAL_VFS
 * calls the same two syscalls).
 *   fhandle save PATH FILE    name_to_handle_at(PATH), the handle written to FILE
 *   fhandle open MOUNT FILE   open_by_handle_at(FILE's handle) on the file system of MOUNT:
 *                             prints a file's bytes, or a directory's names (sorted, one a
 *                             line, without . and ..)
 * A failure prints "error: NAME" (ESTALE, ENOENT, ...) on stdout and exits 3; bad usage
 * exits 2. open needs CAP_DAC_READ_SEARCH (root). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what)
{
	int e = errno;
	const char *name = strerrorname_np(e);
	printf("error: %s\n", name ? name : "?");
	fprintf(stderr, "fhandle: %s: %s\n", what, strerror(e));
	return 3;
}

static int save(const char *path, const char *file)
{
	union {
		struct file_handle fh;
		char room[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	int mount_id;
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0) < 0)
		return fail("name_to_handle_at");
	FILE *f = fopen(file, "w");
	size_t n = sizeof(h.fh) + h.fh.handle_bytes;
	if (!f || fwrite(&h, 1, n, f) != n || fclose(f))
		return fail(file);
	return 0;
}

static int names_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list(int fd)
{
	DIR *d = fdopendir(fd);
	if (!d)
		return fail("fdopendir");
	char **v = NULL;
	size_t n = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char **nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv || !(nv[n] = strdup(de->d_name)))
			return fail("out of memory");
		v = nv;
		n++;
	}
	if (errno)
		return fail("readdir");
	qsort(v, n, sizeof(*v), names_cmp);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n", v[i]);
		free(v[i]);
	}
	free(v);
	closedir(d);
	return 0;
}

static int cat(int fd)
{
	char buf[65536];
	ssize_t got;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, got, stdout) != (size_t)got)
			return fail("stdout");
	return got < 0 ? fail("read") : 0;
}

static int open_handle(const char *mount, const char *file)
{
	union {
		struct file_handle fh;
		char room[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h;
	FILE *f = fopen(file, "r");
	size_t got = f ? fread(&h, 1, sizeof(h), f) : 0;
	if (f)
		fclose(f);
	if (got < sizeof(h.fh) || got != sizeof(h.fh) + h.fh.handle_bytes) {
		fprintf(stderr, "fhandle: %s is not a saved handle\n", file);
		return 2;
	}
	int mfd = open(mount, O_RDONLY | O_DIRECTORY);
	if (mfd < 0)
		return fail(mount);
	int fd = open_by_handle_at(mfd, &h.fh, O_RDONLY);
	if (fd < 0)
		return fail("open_by_handle_at");
	struct stat st;
	if (fstat(fd, &st) < 0)
		return fail("fstat");
	return S_ISDIR(st.st_mode) ? list(fd) : cat(fd);
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "save"))
		return save(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "open"))
		return open_handle(argv[2], argv[3]);
	fprintf(stderr, "usage: fhandle save PATH FILE | fhandle open MOUNT FILE\n");
	return 2;
}
