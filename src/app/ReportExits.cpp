#include "app/ReportExits.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <linux/kvm.h>

namespace quanta {

namespace {

double percentOf(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

std::string portName(const PortKey &key, const PortRow &row)
{
	std::string name = fmt::format("{:#x} {}", key.port, key.out ? "out" : "in");
	if (!row.device.empty())
		name += fmt::format(" ({})", row.device);
	return name;
}

} // namespace

void ExitTime::add(Nanos ns)
{
	minNs = count ? std::min(minNs, ns) : ns;
	maxNs = count ? std::max(maxNs, ns) : ns;
	totalNs += ns;
	++count;
}

void ExitTable::exitHandled(const trace::ExitSeen &exit)
{
	if (exit.retried)
		return;
	const Nanos handled = monotonicNow();
	std::optional<PortKey> port;
	if (exit.event.reason == KVM_EXIT_IO)
		port = PortKey{ exit.event.port, exit.event.out };
	addExit(exit.event.reason, port, exit.device, handled - exit.event.exit);
}

void ExitTable::addExit(std::uint32_t reason, std::optional<PortKey> port, std::string_view device, Nanos handlingNs)
{
	handlingNs = std::max<Nanos>(handlingNs, 0);
	byReason_[reason].add(handlingNs);
	if (port) {
		PortRow &row = byPort_[*port];
		if (row.time.count == 0)
			row.device = device;
		row.time.add(handlingNs);
	}
	++exits_;
	totalNs_ += handlingNs;
}

void SliceOverrunCounter::addSlice(Nanos length, std::optional<Nanos> budget)
{
	if (!budget || *budget <= 0)
		return;
	double ratio = static_cast<double>(length) / static_cast<double>(*budget);
	lengthBudgets_.push_back(ratio);
	if (ratio > kOverrunFactor)
		++overBudget_;
}

SliceOverrun SliceOverrunCounter::overrun() const
{
	SliceOverrun o;
	o.timedSlices = lengthBudgets_.size();
	o.overBudget = overBudget_;
	if (!lengthBudgets_.empty()) {
		// Nearest rank, as sched::percentile.
		std::vector<double> sorted = lengthBudgets_;
		std::size_t rank = static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(sorted.size())));
		rank = std::max<std::size_t>(rank, 1) - 1;
		std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(rank), sorted.end());
		o.p90LengthQuanta = sorted[rank];
	}
	return o;
}

std::string formatExitTable(const ExitTable &t)
{
	const double exits = static_cast<double>(t.exits());
	const double total = static_cast<double>(t.totalNs());
	std::string out = fmt::format("\nexits: {} (all VMs; time from the exit to handled, us)\n", t.exits());
	auto header = [&](const char *what) {
		out += fmt::format("{:<24} {:>9} {:>8} {:>7} {:>11} {:>9} {:>9} {:>9}\n", what, "samples", "samples%",
				   "time%", "time total", "min", "avg", "max");
	};
	auto row = [&](const std::string &name, const ExitTime &e) {
		out += fmt::format("{:<24} {:>9} {:>7.2f}% {:>6.2f}% {:>11.1f} {:>9.2f} {:>9.2f} {:>9.2f}\n", name,
				   e.count, percentOf(static_cast<double>(e.count), exits),
				   percentOf(static_cast<double>(e.totalNs), total), static_cast<double>(e.totalNs) / 1e3,
				   static_cast<double>(e.minNs) / 1e3, static_cast<double>(e.avgNs()) / 1e3,
				   static_cast<double>(e.maxNs) / 1e3);
	};
	// Most frequent first, as perf kvm stat sorts by samples.
	header("exit reason");
	std::vector<std::pair<std::uint32_t, ExitTime>> reasons(t.byReason().begin(), t.byReason().end());
	std::stable_sort(reasons.begin(), reasons.end(),
			 [](const auto &a, const auto &b) { return a.second.count > b.second.count; });
	for (const auto &[reason, e] : reasons)
		row(trace::exitReasonName(reason), e);
	if (!t.byPort().empty()) {
		header("port");
		std::vector<std::pair<PortKey, PortRow>> ports(t.byPort().begin(), t.byPort().end());
		std::stable_sort(ports.begin(), ports.end(),
				 [](const auto &a, const auto &b) { return a.second.time.count > b.second.time.count; });
		for (const auto &[key, p] : ports)
			row(portName(key, p), p.time);
	}
	return out;
}

nlohmann::json exitTableJson(const ExitTable &t)
{
	const double exits = static_cast<double>(t.exits());
	const double total = static_cast<double>(t.totalNs());
	auto entry = [&](const ExitTime &e) {
		return nlohmann::json{ { "count", e.count },
				       { "share_pct", percentOf(static_cast<double>(e.count), exits) },
				       { "time_share_pct", percentOf(static_cast<double>(e.totalNs), total) },
				       { "time_total_ns", e.totalNs },
				       { "time_min_ns", e.minNs },
				       { "time_avg_ns", e.avgNs() },
				       { "time_max_ns", e.maxNs } };
	};
	nlohmann::json reasons = nlohmann::json::array();
	for (const auto &[reason, e] : t.byReason()) {
		nlohmann::json j = entry(e);
		j["reason"] = trace::exitReasonName(reason);
		reasons.push_back(j);
	}
	nlohmann::json ports = nlohmann::json::array();
	for (const auto &[key, p] : t.byPort()) {
		nlohmann::json j = entry(p.time);
		j["port"] = fmt::format("{:#x}", key.port);
		j["direction"] = key.out ? "out" : "in";
		j["device"] = p.device;
		ports.push_back(j);
	}
	return { { "exits", t.exits() }, { "time_total_ns", t.totalNs() }, { "by_reason", reasons }, { "by_port", ports } };
}

} // namespace quanta
