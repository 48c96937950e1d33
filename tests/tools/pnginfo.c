/* pnginfo FILE: decodes a PNG with libpng and prints "WIDTH HEIGHT COLOURS" (distinct
 * colours, counted up to 1000), so that shell tests can check what a screenshot shows.
 * Exits 1 with libpng's reason for anything that is not a valid PNG. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (argc != 2 || !png_image_begin_read_from_file(&img, argv[1])) {
		fprintf(stderr, "pnginfo: %s\n", argc == 2 ? img.message : "usage: pnginfo FILE");
		return 1;
	}
	img.format = PNG_FORMAT_RGB;
	png_bytep px = malloc(PNG_IMAGE_SIZE(img));
	if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
		fprintf(stderr, "pnginfo: %s\n", px ? img.message : "out of memory");
		return 1;
	}
	static unsigned seen[1000];
	unsigned n = 0;
	for (size_t i = 0; i < (size_t)img.width * img.height && n < 1000; i++) {
		unsigned c = px[3 * i] << 16 | px[3 * i + 1] << 8 | px[3 * i + 2], j;
		for (j = 0; j < n && seen[j] != c; j++)
			;
		if (j == n)
			seen[n++] = c;
	}
	printf("%u %u %u\n", img.width, img.height, n);
	free(px);
	return 0;
}
