#include "app/Report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace quanta {

namespace {

double ms(Nanos ns)
{
	return static_cast<double>(ns) / 1e6;
}

double us(Nanos ns)
{
	return static_cast<double>(ns) / 1e3;
}

nlohmann::json latencyJson(const sched::LatencySummary &s)
{
	return { { "count", s.count }, { "p50_ns", s.p50 }, { "p99_ns", s.p99 }, { "max_ns", s.max }, { "mean_ns", s.mean } };
}

std::string exitSummary(const ExitStats &e)
{
	std::string text = fmt::format("{} exits", e.guestExits);
	auto add = [&](const char *what, std::uint64_t n) {
		if (n)
			text += fmt::format(", {} {}", what, n);
	};
	add("IN", e.ioIn);
	add("OUT", e.ioOut);
	add("HLT", e.hlt);
	add("MMIO", e.mmio);
	add("SHUTDOWN", e.shutdown);
	add("FAIL_ENTRY", e.failEntry);
	add("INTERNAL", e.internalError);
	add("other", e.other);
	add("INTR (kicks)", e.interrupts);
	return text;
}

nlohmann::json channelsJson(const RunReport &r)
{
	nlohmann::json list = nlohmann::json::array();
	for (const auto &c : r.channels)
		list.push_back({ { "name", c.name }, { "from", c.from }, { "to", c.to }, { "slots", c.slots }, { "used", c.used }, { "sent", c.sent }, { "received", c.received } });
	return list;
}

} // namespace

RunReport buildReport(const RunRecord &record, const sched::Scheduler &scheduler,
		      const std::vector<std::unique_ptr<Machine>> &machines, const ChannelHub *channels)
{
	RunReport report{};
	report.policy = std::string(sched::policyName(scheduler.policy()));
	report.quantumNs = scheduler.quantum();
	report.wallNs = record.wallNs;
	report.idleNs = record.idleNs;
	report.stopSignal = record.stopSignal;
	report.durationReached = record.durationReached;
	report.deadlock = record.deadlock;
	for (std::size_t i = 0; channels && i < channels->size(); ++i) {
		const Channel &c = channels->channel(i);
		report.channels.push_back({ c.spec().name, machines[c.spec().producer]->name(),
					    machines[c.spec().consumer]->name(), c.spec().slots, c.used(), c.sent(),
					    c.received() });
	}

	std::vector<Nanos> ran;
	std::vector<std::uint64_t> weights;
	for (std::size_t i = 0; i < machines.size(); ++i) {
		ran.push_back(record.vms[i].sched.ranNs);
		weights.push_back(scheduler.weight(i));
	}
	std::vector<double> target = sched::targetShares(scheduler.policy(), weights);
	sched::FairnessReport fairness = sched::fairnessReport(ran, target);
	report.jain = fairness.jain;

	for (std::size_t i = 0; i < machines.size(); ++i) {
		const RunRecord::Vm &vm = record.vms[i];
		const Machine &machine = *machines[i];
		VmReport row{};
		row.name = machine.name();
		row.status = vmStatusName(vm.status);
		row.diagnosis = vm.diagnosis;
		row.weight = weights[i];
		row.targetShare = fairness.rows[i].target;
		row.achievedShare = fairness.rows[i].achieved;
		row.errorPp = fairness.rows[i].errorPp;
		row.ranNs = vm.sched.ranNs;
		row.waitingNs = vm.sched.waitingNs;
		row.parkedNs = vm.sched.parkedNs;
		row.slices = vm.sched.slices;
		row.maxLagQuanta = vm.sched.maxAbsLagQuanta;
		row.exits = machine.stats();
		row.workWrites = machine.work().writes();
		row.workLast = machine.work().last();
		row.workReported = machine.work().reported();
		report.guestNs += row.ranNs;
		report.maxLagQuanta = std::max(report.maxLagQuanta, row.maxLagQuanta);
		report.vms.push_back(std::move(row));
	}
	report.overheadNs = report.wallNs - report.guestNs - report.idleNs;
	Nanos busy = report.wallNs - report.idleNs;
	report.overheadPct = busy > 0 ? 100.0 * static_cast<double>(report.overheadNs) / static_cast<double>(busy) : 0.0;
	report.kickLatency = sched::summarizeLatency(record.kickLatencyNs);
	report.switchLatency = sched::summarizeLatency(record.switchLatencyNs);
	return report;
}

std::string formatReportTable(const RunReport &r)
{
	std::string out;
	out += fmt::format("\nquanta report: policy {}, quantum {:.3g} ms, wall {:.1f} ms{}\n", r.policy,
			   ms(r.quantumNs), ms(r.wallNs),
			   r.stopSignal        ? fmt::format(" (stopped by signal {})", r.stopSignal)
			   : r.durationReached ? " (duration reached)"
					       : "");
	std::size_t nameWidth = 12;
	for (const VmReport &vm : r.vms)
		nameWidth = std::max(nameWidth, vm.name.size());
	out += fmt::format("{:<{}} {:>8} {:>7} {:>8} {:>8} {:>10} {:>7} {:>10} {:>10} {:>8} {:>9}\n", "VM", nameWidth,
			   "status", "target", "achieved", "err(pp)", "run(ms)", "slices", "wait(ms)",
			   "parked(ms)", "lag(q)", "work");
	for (const VmReport &vm : r.vms) {
		out += fmt::format("{:<{}} {:>8} {:>6.1f}% {:>7.2f}% {:>+8.2f} {:>10.1f} {:>7} {:>10.1f} {:>10.1f} {:>8.2f} {:>9}\n",
				   vm.name, nameWidth, vm.status, vm.targetShare * 100, vm.achievedShare * 100, vm.errorPp,
				   ms(vm.ranNs), vm.slices, ms(vm.waitingNs), ms(vm.parkedNs), vm.maxLagQuanta,
				   vm.workReported ? vm.workReported : vm.workWrites);
	}
	for (const VmReport &vm : r.vms)
		out += fmt::format("  {}: {}\n", vm.name, exitSummary(vm.exits));
	for (const auto &c : r.channels)
		out += fmt::format("  channel {} ({} -> {}): {} sent, {} received, {}/{} slots used at the end\n",
				   c.name, c.from, c.to, c.sent, c.received, c.used, c.slots);
	if (r.deadlock)
		out += "run ended in a deadlock: every running VM waited on a channel\n";
	out += fmt::format("guest {:.1f} ms, idle {:.1f} ms, hypervisor overhead {:.1f} ms ({:.2f}% of busy time)\n",
			   ms(r.guestNs), ms(r.idleNs), ms(r.overheadNs), r.overheadPct);
	out += fmt::format("Jain's fairness index {:.4f}, max lag {:.2f} quanta\n", r.jain, r.maxLagQuanta);
	if (r.kickLatency.count)
		out += fmt::format("kick latency (timer expiry to userspace): p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us ({} kicks)\n",
				   us(r.kickLatency.p50), us(r.kickLatency.p99), us(r.kickLatency.max),
				   r.kickLatency.count);
	if (r.switchLatency.count)
		out += fmt::format("switch latency (exit to next entry): p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us\n",
				   us(r.switchLatency.p50), us(r.switchLatency.p99), us(r.switchLatency.max));
	return out;
}

std::string reportJson(const RunReport &r)
{
	nlohmann::json vms = nlohmann::json::array();
	for (const VmReport &vm : r.vms) {
		nlohmann::json ports = nlohmann::json::object();
		for (const auto &[port, count] : vm.exits.byPort)
			ports[fmt::format("{:#x}", port)] = { { "in", count.in }, { "out", count.out } };
		vms.push_back({
			{ "name", vm.name },
			{ "status", vm.status },
			{ "diagnosis", vm.diagnosis },
			{ "weight", vm.weight },
			{ "target_share", vm.targetShare },
			{ "achieved_share", vm.achievedShare },
			{ "error_pp", vm.errorPp },
			{ "run_ns", vm.ranNs },
			{ "waiting_ns", vm.waitingNs },
			{ "parked_ns", vm.parkedNs },
			{ "slices", vm.slices },
			{ "max_lag_quanta", vm.maxLagQuanta },
			{ "work_writes", vm.workWrites },
			{ "work_last", vm.workLast },
			{ "work_reported", vm.workReported },
			{ "exits",
			  { { "total", vm.exits.guestExits },
			    { "io_in", vm.exits.ioIn },
			    { "io_out", vm.exits.ioOut },
			    { "hlt", vm.exits.hlt },
			    { "mmio", vm.exits.mmio },
			    { "shutdown", vm.exits.shutdown },
			    { "fail_entry", vm.exits.failEntry },
			    { "internal_error", vm.exits.internalError },
			    { "other", vm.exits.other },
			    { "intr", vm.exits.interrupts },
			    { "by_port", ports } } },
		});
	}
	nlohmann::json doc = {
		{ "policy", r.policy },
		{ "quantum_ns", r.quantumNs },
		{ "wall_ns", r.wallNs },
		{ "guest_ns", r.guestNs },
		{ "idle_ns", r.idleNs },
		{ "overhead_ns", r.overheadNs },
		{ "overhead_pct", r.overheadPct },
		{ "jain", r.jain },
		{ "max_lag_quanta", r.maxLagQuanta },
		{ "kick_latency", latencyJson(r.kickLatency) },
		{ "switch_latency", latencyJson(r.switchLatency) },
		{ "stop_signal", r.stopSignal },
		{ "duration_reached", r.durationReached },
		{ "deadlock", r.deadlock },
		{ "channels", channelsJson(r) },
		{ "vms", vms },
	};
	return doc.dump(2) + "\n";
}

} // namespace quanta
