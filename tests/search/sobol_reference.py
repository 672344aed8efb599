#!/usr/bin/python3
# Prints the first points of the plain (unscrambled) Sobol' sequence from SciPy, which uses the
# same Joe & Kuo direction numbers and Gray-code order, as the C++ table in sobol_test.cpp.
# Usage: /usr/bin/python3 tests/search/sobol_reference.py
import scipy.stats.qmc as qmc

DIMENSIONS, POINTS = 8, 16
points = qmc.Sobol(d=DIMENSIONS, scramble=False).random(POINTS)
print("// SciPy", __import__("scipy").__version__, "qmc.Sobol(d=%d, scramble=False).random(%d)" % (DIMENSIONS, POINTS))
for row in points:
    print("    {" + ", ".join(repr(float(x)) for x in row) + "},")
# Points 1000 and 12345 in all 64 dimensions built in: checks the whole direction table and the
# recurrence for higher bits.
for index in (1000, 12345):
    far = qmc.Sobol(d=64, scramble=False)
    far.fast_forward(index)
    print("// point %d:" % index)
    print("{" + ", ".join(repr(float(x)) for x in far.random(1)[0]) + "}")
