#include "controller/translate/reads.h"

#include <algorithm>
#include <utility>

namespace portico::controller::translate {

std::vector<Read> ReadLog::Take() {
  std::vector<Read> reads = std::exchange(reads_, {});
  std::sort(reads.begin(), reads.end());
  reads.erase(std::unique(reads.begin(), reads.end()), reads.end());
  return reads;
}

}  // namespace portico::controller::translate
