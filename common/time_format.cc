#include "common/time_format.h"

#include <time.h>

#include <cstdio>

namespace portico {

size_t FormatNowRfc3339Millis(char (&out)[kRfc3339MillisSize]) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc;
  gmtime_r(&ts.tv_sec, &utc);
  size_t n = strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%S", &utc);
  n += static_cast<size_t>(
      snprintf(out + n, sizeof(out) - n, ".%03ldZ", static_cast<long>(ts.tv_nsec / 1000000)));
  return n;
}

}  // namespace portico
