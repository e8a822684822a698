// Trace files: the Chrome trace event format (JSON; Perfetto and
// chrome://tracing open it) and CSV, both written after the run.
//
// JSON layout: one process, one thread (tid = VM index + 1) per VM, named by
// thread_name metadata; every slice is a complete event ("ph": "X", cat
// "slice", named after the VM, args: end reason, ran_ns, runs); at level
// `exits` every KVM_RUN is a complete event nested in its slice (cat
// "exit", named e.g. "io out 0x10"); a counter "share" gives each VM's
// cumulative share of guest time after every slice. ts and dur are in
// microseconds with three decimals, so nanoseconds survive a round trip.
// The top-level "quanta" object holds what the plot needs (policy, quantum,
// wall time, VM names, weights and target shares).
#pragma once

#include <string>
#include <string_view>

#include "trace/Trace.h"

namespace quanta::trace {

std::string chromeTraceJson(const TraceData &data);

// Reads a file written by chromeTraceJson (times come back relative to the
// run's start: origin 0). Throws UsageError when the text is not one.
TraceData readChromeTrace(std::string_view json);

// One row per slice and (level exits) per KVM_RUN, in time order:
// type,vm,name,start_ns,end_ns,ran_ns,reason,runs,port,size
std::string traceCsv(const TraceData &data);

} // namespace quanta::trace
