// SPDX-License-Identifier: GPL-2.0-or-later
// Generates printf_g.txt: "%a<TAB>%g" for the doubles printf_g_test.go checks AppendG against.
// Build and run: cc -O0 -o /tmp/pg testdata/printf_g.c && /tmp/pg > testdata/printf_g.txt
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static void out(double d) { printf("%a\t%g\n", d, d); }

int main(void) {
	static const double fixed[] = {0, -0.0, 1, 0.5, 5.5, 10, 100, 1000, 131072, 524288, 1048576, 65536,
		1.5 * 1048576, 99999.95, 999999.5, 999995, 999994.9, 1234565, 1234575, 0.0001, 0.00001, 0.000123456789,
		1e-300, 4.9e-324, 1.7976931348623157e308, 123456789, 1e6, 1e21, 3.14159265358979, 2.5, 0.125,
		100000, 99999.5, 9.999995, 9.9999949, 0.0009999995, 1073741824.0, 1.5 * 1073741824.0, 0.1, 0.2, 0.3,
		33.333333333333336, 1024, 2048.5, 1e15, 1e16, 12345.65, 12345.75, 1234.5625, 0.00012345650000000001};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
		out(fixed[i]);
		out(-fixed[i]);
	}
	/* products a wirefilter value can give: short decimals times 1, 2^10, 2^20, 2^30 */
	static const double mult[] = {1, 1024, 1048576, 1073741824};
	srand48(586);
	for (int i = 0; i < 400; i++) {
		double v = floor(drand48() * 100000) / pow(10, (int)(drand48() * 6));
		out(v * mult[i % 4]);
	}
	/* random doubles over many magnitudes, and values at six-digit rounding ties */
	for (int i = 0; i < 600; i++) {
		double v = ldexp(drand48(), (int)(drand48() * 120) - 60);
		out(v);
		double t = (floor(drand48() * 1000000) + 0.5) * pow(10, (int)(drand48() * 12) - 8);
		out(t);
	}
	return 0;
}
