// The one libm function the Embedded Swift standard library calls (Dictionary
// and Set size their storage with ceil). Defining it here lets the linker
// drop libm (see --as-needed in the Makefile), which saves mapping a whole
// library into a daemon whose idle memory is the product.
#include <stdint.h>

double ceil(double x) {
    // From 2^52 on every double is an integer; NaN and infinities pass too.
    if (!(__builtin_fabs(x) < 4503599627370496.0)) return x;
    double truncated = (double)(int64_t)x;
    double result = truncated < x ? truncated + 1.0 : truncated;
    // ceil(-0.5) is -0.0: keep the sign of x on a zero result.
    return result == 0.0 ? __builtin_copysign(0.0, x) : result;
}
