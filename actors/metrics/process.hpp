#pragma once

// The process metrics every Prometheus client library exports, under
// their conventional names (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from /proc/self at a scrape.

#include "metrics/exposition.hpp"

namespace dja::metrics {

/// Appends the process_* families to `out` (those /proc cannot give are
/// left out).
void write_process(exposition& out);

} // namespace dja::metrics
