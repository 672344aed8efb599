// test_transform links descent_transform but not descent_vectors (which sits above every layer it
// checks), so the clip case runner is compiled into this test program to test it against the vectors.
#include "../../src/vectors/clip.cpp"
