# decimal, fractions and math: the libm and libmpdec paths, printed exactly.
import decimal, fractions, math, struct, zlib, json, re
decimal.getcontext().prec = 60
D = decimal.Decimal
print(D(2).sqrt(), D(1) / D(7), D(10).ln(), D("1.5").exp())
print(fractions.Fraction(355, 113) - fractions.Fraction(22, 7))
print(math.gamma(4.5), math.lgamma(100.5), math.erf(0.3), math.erfc(2.5))
print(math.fsum([0.1] * 10), math.comb(60, 30), math.isqrt(10**40 + 7), math.factorial(30))
print(math.sin(1e22), math.atan2(-0.0, -1), math.hypot(3e200, 4e200), math.log1p(1e-17), math.expm1(1e-10))
print(repr(float("1e-310")), float.hex(2 / 3), struct.pack("<dfq", math.pi, math.e, -2**63).hex())
print(math.fmod(-7.5, 2), math.remainder(7.5, 2), math.frexp(1e-300), math.ldexp(0.75, -1070))
print(zlib.adler32(b"x" * 100000), zlib.compress(b"abc" * 1000, 9).hex()[:40])
d = {"k%d" % i: [i, i / 3, str(i) * 3, None, i % 2 == 0] for i in range(200)}
s = json.dumps(d, sort_keys=True)
print(len(s), zlib.crc32(s.encode()), json.loads(s) == d)
print(re.findall(r"(\w+)@(\w+)\.com", "a@b.com, cc@dd.com x@y.org"), re.sub(r"(?i)(A+)", lambda m: str(len(m[1])), "aAaxbAx"))
