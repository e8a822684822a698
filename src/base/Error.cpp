#include "base/Error.h"

#include <cstring>
#include <fmt/format.h>

namespace quanta {

HostError::HostError(const std::string &operation, int err, const std::string &hint)
	: std::runtime_error(fmt::format("{} failed: {} (errno {}){}{}", operation,
					 std::strerror(err), err, hint.empty() ? "" : ": ", hint)),
	  errno_(err)
{
}

} // namespace quanta
