// `quanta plot TRACE.json [-o OUT.svg]`: draws a trace written by --trace
// (the same picture --plot draws at the end of a run), without KVM.
#pragma once

#include <string>
#include <vector>

namespace quanta {

// args[0] is the program, args[1] "plot". Returns the exit status.
int plotCommand(const std::vector<std::string> &args);

} // namespace quanta
