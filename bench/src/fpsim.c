/*
 * Floating-point-heavy workload: an n-body simulation (double precision,
 * sqrt and divisions), a dense matrix product and a sum of transcendental
 * functions (sin, cos, exp, log from libm).  Prints checksums, so every
 * runner's output is compared with the native one.  qemu-x86_64 emulates
 * SSE arithmetic in software; loom runs it on the host's FPU.
 */
#include <math.h>
#include <stdio.h>

#define NB 64
static double px[NB], py[NB], pz[NB], vx[NB], vy[NB], vz[NB], m[NB];

static void nbody(int steps)
{
	for (int i = 0; i < NB; i++) {
		px[i] = cos(i * 0.7) * (1 + i % 5);
		py[i] = sin(i * 1.3) * (1 + i % 3);
		pz[i] = (i % 7) * 0.25 - 0.75;
		vx[i] = vy[i] = vz[i] = 0;
		m[i] = 1.0 + (i % 4) * 0.5;
	}
	for (int s = 0; s < steps; s++) {
		for (int i = 0; i < NB; i++) {
			double ax = 0, ay = 0, az = 0;
			for (int j = 0; j < NB; j++) {
				double dx = px[j] - px[i], dy = py[j] - py[i], dz = pz[j] - pz[i];
				double d2 = dx * dx + dy * dy + dz * dz + 1e-3;
				double inv = m[j] / (d2 * sqrt(d2));
				ax += dx * inv;
				ay += dy * inv;
				az += dz * inv;
			}
			vx[i] += ax * 1e-4;
			vy[i] += ay * 1e-4;
			vz[i] += az * 1e-4;
		}
		for (int i = 0; i < NB; i++) {
			px[i] += vx[i] * 1e-2;
			py[i] += vy[i] * 1e-2;
			pz[i] += vz[i] * 1e-2;
		}
	}
}

#define N 160
static double a[N][N], b[N][N], c[N][N];

static double matmul(void)
{
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			a[i][j] = (i * 3 + j) % 17 * 0.125;
			b[i][j] = (i + j * 5) % 13 * 0.25;
		}
	for (int r = 0; r < 4; r++)
		for (int i = 0; i < N; i++)
			for (int j = 0; j < N; j++) {
				double s = 0;
				for (int k = 0; k < N; k++)
					s += a[i][k] * b[k][j];
				c[i][j] = s + r;
			}
	double t = 0;
	for (int i = 0; i < N; i++)
		t += c[i][i] - c[i][N - 1 - i];
	return t;
}

static double transcendental(int n)
{
	double s = 0;
	for (int i = 1; i <= n; i++) {
		double x = i * 1e-4;
		s += sin(x) * cos(x * 0.5) + exp(-x) * log(1 + x);
	}
	return s;
}

int main(void)
{
	nbody(1500);
	double e = 0;
	for (int i = 0; i < NB; i++)
		e += m[i] * (vx[i] * vx[i] + vy[i] * vy[i] + vz[i] * vz[i]);
	printf("nbody %.9e\n", e);
	printf("matmul %.9e\n", matmul());
	printf("transcendental %.9e\n", transcendental(1500000));
	return 0;
}
