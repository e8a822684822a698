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

constexpr const char *kFairnessAll = "all VMs, the whole run";

bool stoppedByItself(VmStatus status)
{
	return status == VmStatus::Halted || status == VmStatus::Failed || status == VmStatus::Faulted;
}

} // namespace

std::vector<std::string> fairnessExclusions(RunReport &report, const RunRecord &record,
					    const sched::Scheduler &scheduler, const std::vector<std::string> &names)
{
	const std::size_t n = record.vms.size();
	std::vector<std::string> excluded(n);
	if (n < 2)
		return excluded;
	const double quantum = static_cast<double>(scheduler.quantum());
	const double wall = static_cast<double>(record.wallNs);
	if (scheduler.policy() != sched::Policy::Io && wall < kMinWindowQuanta * quantum) {
		std::string why = fmt::format("the run lasted {:.1f} quanta; shares need at least {:.0f}",
					      wall / quantum, kMinWindowQuanta);
		report.warnings.push_back({ "short_run", why + ": fairness figures left out" });
		excluded.assign(n, why);
		return excluded;
	}
	// A VM's life: running, waiting or parked until it stopped.
	std::vector<Nanos> life(n);
	Nanos longest = 0;
	for (std::size_t i = 0; i < n; ++i) {
		const sched::VmStats &s = record.vms[i].sched;
		life[i] = s.wallNs + s.waitingNs + s.parkedNs;
		longest = std::max(longest, life[i]);
	}
	for (std::size_t i = 0; i < n; ++i) {
		const RunRecord::Vm &vm = record.vms[i];
		if (!stoppedByItself(vm.status) ||
		    static_cast<double>(life[i]) >= kHaltedEarlyLifeFrac * static_cast<double>(longest))
			continue;
		excluded[i] = fmt::format("{} after {:.1f} ms of a {:.1f} ms run", vmStatusName(vm.status),
					  ms(life[i]), ms(longest));
		report.warnings.push_back({ "halted_early", fmt::format("VM {} {}: its share is left out of the "
									"fairness figures (the rest are compared among themselves)",
									names[i], excluded[i]) });
	}
	return excluded;
}

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
	report.stdoutClosed = record.stdoutClosed;
	report.stdoutDroppedBytes = record.stdoutDroppedBytes;
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
	std::vector<std::string> names;
	for (const auto &machine : machines)
		names.push_back(machine->name());
	std::vector<std::string> excluded = fairnessExclusions(report, record, scheduler, names);
	std::vector<double> targetAll = sched::targetShares(scheduler.policy(), weights);
	std::vector<double> achievedAll = sched::achievedShares(ran);
	// Fairness over the VMs that count: targets and shares among them.
	std::vector<std::size_t> included;
	std::vector<Nanos> includedRan;
	std::vector<std::uint64_t> includedWeights;
	for (std::size_t i = 0; i < machines.size(); ++i) {
		if (excluded[i].empty()) {
			included.push_back(i);
			includedRan.push_back(ran[i]);
			includedWeights.push_back(weights[i]);
		}
	}
	std::vector<sched::ShareRow> rows(machines.size());
	for (std::size_t i = 0; i < machines.size(); ++i)
		rows[i] = { achievedAll[i], targetAll[i], 0.0 };
	if (!included.empty() && (included.size() >= 2 || machines.size() == 1)) {
		sched::FairnessReport fairness = sched::fairnessReport(
			includedRan, sched::targetShares(scheduler.policy(), includedWeights));
		for (std::size_t k = 0; k < included.size(); ++k)
			rows[included[k]] = fairness.rows[k];
		report.jain = fairness.jain;
		report.fairnessNote = included.size() == machines.size()
					      ? kFairnessAll
					      : fmt::format("{} of {} VMs (shares among them; the others are left out)",
							    included.size(), machines.size());
	} else {
		// Nothing left to compare: every VM is left out.
		const std::string lone = "fewer than two VMs ran through the run";
		for (std::string &why : excluded)
			if (why.empty())
				why = lone;
		report.fairnessNote = "left out: " + (included.empty() ? excluded.front() : lone);
	}

	for (std::size_t i = 0; i < machines.size(); ++i) {
		const RunRecord::Vm &vm = record.vms[i];
		const Machine &machine = *machines[i];
		VmReport row{};
		row.name = machine.name();
		row.status = vmStatusName(vm.status);
		row.diagnosis = vm.diagnosis;
		row.weight = weights[i];
		row.targetShare = rows[i].target;
		row.achievedShare = rows[i].achieved;
		row.errorPp = rows[i].errorPp;
		row.fairnessExcluded = excluded[i];
		row.ranNs = vm.sched.ranNs;
		row.waitingNs = vm.sched.waitingNs;
		row.parkedNs = vm.sched.parkedNs;
		row.hostStealNs = vm.hostStealNs;
		row.slices = vm.sched.slices;
		row.maxLagQuanta = vm.sched.maxAbsLagQuanta;
		row.exits = machine.stats();
		if (const hvt::HvtHypercalls *hvt = machine.hvt())
			for (const auto &[index, net] : hvt->attachments().nets)
				row.nets.push_back({ net.name, net.framesSent, net.framesReceived, net.framesDropped,
						     net.bytesSent, net.bytesReceived });
		row.workWrites = machine.work().writes();
		row.workLast = machine.work().last();
		row.workReported = machine.work().reported();
		report.guestNs += row.ranNs;
		report.hostStealNs += row.hostStealNs;
		report.maxLagQuanta = std::max(report.maxLagQuanta, row.maxLagQuanta);
		report.vms.push_back(std::move(row));
	}
	report.overheadNs = report.wallNs - report.guestNs - report.idleNs;
	Nanos busy = report.wallNs - report.idleNs;
	report.overheadPct = busy > 0 ? 100.0 * static_cast<double>(report.overheadNs) / static_cast<double>(busy) : 0.0;
	report.hostStealMeasured = record.hostStealMeasured;
	if (busy > 0 && static_cast<double>(report.hostStealNs) > kHostStealMaxFrac * static_cast<double>(busy))
		report.warnings.push_back(
			{ "host_steal",
			  fmt::format("the host kept quanta's thread waiting for a CPU for {:.1f} ms during slices "
				      "({:.1f}% of busy time, over {:.0f}%): not charged to the guests, but their slices "
				      "ended late; pin with --cpu N, try --realtime, or use a quieter host",
				      ms(report.hostStealNs),
				      100.0 * static_cast<double>(report.hostStealNs) / static_cast<double>(busy),
				      100 * kHostStealMaxFrac) });
	report.kickLatency = sched::summarizeLatency(record.kickLatencyNs);
	report.switchLatency = sched::summarizeLatency(record.switchLatencyNs);
	if (report.kickLatency.count &&
	    static_cast<double>(report.kickLatency.p99) > kKickP99MaxQuantumFrac * static_cast<double>(report.quantumNs))
		report.warnings.push_back(
			{ "kick_latency",
			  fmt::format("kick latency p99 {:.1f} us is {:.0f}% of the {:.3g} ms quantum (over {:.0f}%): "
				      "slices end late, so shares at this quantum are noisy",
				      us(report.kickLatency.p99),
				      100.0 * static_cast<double>(report.kickLatency.p99) / static_cast<double>(report.quantumNs),
				      ms(report.quantumNs), 100 * kKickP99MaxQuantumFrac) });
	return report;
}

std::string formatReportTable(const RunReport &r)
{
	std::string out;
	out += fmt::format("\nquanta report: policy {}, quantum {:.3g} ms, wall {:.1f} ms{}\n", r.policy,
			   ms(r.quantumNs), ms(r.wallNs),
			   r.stopSignal        ? fmt::format(" (stopped by signal {})", r.stopSignal)
			   : r.stdoutClosed    ? " (stdout closed)"
			   : r.durationReached ? " (duration reached)"
					       : "");
	std::size_t nameWidth = 12;
	for (const VmReport &vm : r.vms)
		nameWidth = std::max(nameWidth, vm.name.size());
	out += fmt::format("{:<{}} {:>8} {:>7} {:>8} {:>8} {:>10} {:>7} {:>10} {:>10} {:>8} {:>9} {:>9}\n", "VM",
			   nameWidth, "status", "target", "achieved", "err(pp)", "run(ms)", "slices", "wait(ms)",
			   "parked(ms)", "lag(q)", "work", "steal(ms)");
	for (const VmReport &vm : r.vms) {
		std::string error = vm.fairnessExcluded.empty() ? fmt::format("{:+.2f}", vm.errorPp) : "-";
		out += fmt::format("{:<{}} {:>8} {:>6.1f}% {:>7.2f}% {:>8} {:>10.1f} {:>7} {:>10.1f} {:>10.1f} {:>8.2f} {:>9} "
				   "{:>9.1f}\n",
				   vm.name, nameWidth, vm.status, vm.targetShare * 100, vm.achievedShare * 100, error,
				   ms(vm.ranNs), vm.slices, ms(vm.waitingNs), ms(vm.parkedNs), vm.maxLagQuanta,
				   vm.workReported ? vm.workReported : vm.workWrites, ms(vm.hostStealNs));
	}
	for (const VmReport &vm : r.vms) {
		out += fmt::format("  {}: {}\n", vm.name, exitSummary(vm.exits));
		for (const VmReport::NetRow &net : vm.nets)
			out += fmt::format("  {}: net {}: {} frames sent ({} bytes), {} received ({} bytes), {} dropped\n",
					   vm.name, net.device, net.framesSent, net.bytesSent, net.framesReceived,
					   net.bytesReceived, net.framesDropped);
	}
	for (const auto &c : r.channels)
		out += fmt::format("  channel {} ({} -> {}): {} sent, {} received, {}/{} slots used at the end\n",
				   c.name, c.from, c.to, c.sent, c.received, c.used, c.slots);
	if (r.deadlock)
		out += "run ended in a deadlock: every running VM waited on a channel\n";
	out += fmt::format("guest {:.1f} ms, idle {:.1f} ms, hypervisor overhead {:.1f} ms ({:.2f}% of busy time)\n",
			   ms(r.guestNs), ms(r.idleNs), ms(r.overheadNs), r.overheadPct);
	if (!r.hostScheduling.empty())
		out += fmt::format("quanta's thread: {}\n", r.hostScheduling);
	if (r.hostStealMeasured)
		out += fmt::format("host steal (waiting for a host CPU during slices, not charged, in the overhead): "
				   "{:.1f} ms\n",
				   ms(r.hostStealNs));
	else
		out += "host steal: not measured (no /proc/thread-self/schedstat): the guests were charged it\n";
	if (r.jain && r.fairnessNote == kFairnessAll)
		out += fmt::format("Jain's fairness index {:.4f}, max lag {:.2f} quanta\n", *r.jain, r.maxLagQuanta);
	else if (r.jain)
		out += fmt::format("Jain's fairness index {:.4f} over {}, max lag {:.2f} quanta\n", *r.jain,
				   r.fairnessNote, r.maxLagQuanta);
	else
		out += fmt::format("fairness {}; max lag {:.2f} quanta\n", r.fairnessNote, r.maxLagQuanta);
	if (r.kickLatency.count)
		out += fmt::format("kick latency (timer expiry to userspace): p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us ({} kicks)\n",
				   us(r.kickLatency.p50), us(r.kickLatency.p99), us(r.kickLatency.max),
				   r.kickLatency.count);
	if (r.switchLatency.count)
		out += fmt::format("switch latency (exit to next entry): p50 {:.1f} us, p99 {:.1f} us, max {:.1f} us\n",
				   us(r.switchLatency.p50), us(r.switchLatency.p99), us(r.switchLatency.max));
	if (r.sliceOverrun && r.sliceOverrun->timedSlices) {
		const SliceOverrun &o = *r.sliceOverrun;
		out += fmt::format("slice length against the timer: p90 {:.2f}x, {} of {} timed slices over {:.1f}x\n",
				   o.p90LengthQuanta, o.overBudget, o.timedSlices, kOverrunFactor);
	}
	out += r.exitTableText;
	for (const RunReport::Warning &w : r.warnings)
		out += fmt::format("warning: {}\n", w.message);
	return out;
}

void addSliceOverrun(RunReport &report, const SliceOverrun &o)
{
	report.sliceOverrun = o;
	if (o.timedSlices == 0)
		return;
	double frac = static_cast<double>(o.overBudget) / static_cast<double>(o.timedSlices);
	if (frac > kOverrunMaxFrac)
		report.warnings.push_back(
			{ "slice_overrun",
			  fmt::format("{} of {} timed slices ({:.0f}%) ran over {:.1f}x their budget (over {:.0f}%); p90 "
				      "slice length {:.2f}x the budget: the timer ends slices late, so shares are noisy",
				      o.overBudget, o.timedSlices, 100 * frac, kOverrunFactor, 100 * kOverrunMaxFrac,
				      o.p90LengthQuanta) });
}

void addNoiseWarnings(RunReport &report, const RunMetadata &meta)
{
	// Other processes were already using the CPUs when the run began.
	double cpus = static_cast<double>(std::max(1L, meta.cpusOnline));
	if (meta.loadBefore[0] >= kLoadedPerCpu * cpus)
		report.warnings.push_back(
			{ "loaded_host",
			  fmt::format("host was loaded: load average {:.2f} before the run on {} CPUs (over {:.1f} "
				      "per CPU); other processes compete for the CPU",
				      meta.loadBefore[0], meta.cpusOnline, kLoadedPerCpu) });
}

std::string reportJson(const RunReport &r, const RunMetadata &meta)
{
	nlohmann::json vms = nlohmann::json::array();
	for (const VmReport &vm : r.vms) {
		nlohmann::json ports = nlohmann::json::object();
		for (const auto &[port, count] : vm.exits.byPort)
			ports[fmt::format("{:#x}", port)] = { { "in", count.in }, { "out", count.out } };
		nlohmann::json nets = nlohmann::json::array();
		for (const VmReport::NetRow &net : vm.nets)
			nets.push_back({ { "device", net.device },
					 { "frames_sent", net.framesSent },
					 { "frames_received", net.framesReceived },
					 { "frames_dropped", net.framesDropped },
					 { "bytes_sent", net.bytesSent },
					 { "bytes_received", net.bytesReceived } });
		vms.push_back({
			{ "name", vm.name },
			{ "status", vm.status },
			{ "diagnosis", vm.diagnosis },
			{ "weight", vm.weight },
			{ "target_share_frac", vm.targetShare },
			{ "achieved_share_frac", vm.achievedShare },
			{ "error_pp", vm.fairnessExcluded.empty() ? nlohmann::json(vm.errorPp) : nlohmann::json(nullptr) },
			{ "fairness_excluded",
			  vm.fairnessExcluded.empty() ? nlohmann::json(nullptr) : nlohmann::json(vm.fairnessExcluded) },
			{ "run_ns", vm.ranNs },
			{ "waiting_ns", vm.waitingNs },
			{ "parked_ns", vm.parkedNs },
			{ "host_steal_ns", vm.hostStealNs },
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
		if (!nets.empty())
			vms.back()["nets"] = nets;
	}
	nlohmann::json warnings = nlohmann::json::array();
	for (const RunReport::Warning &w : r.warnings)
		warnings.push_back({ { "code", w.code }, { "message", w.message } });
	nlohmann::json doc = {
		{ "schema_version", kSchemaVersion },
		{ "kind", "report" },
		{ "meta", metadataJson(meta) },
		{ "policy", r.policy },
		{ "quantum_ns", r.quantumNs },
		{ "wall_ns", r.wallNs },
		{ "guest_ns", r.guestNs },
		{ "idle_ns", r.idleNs },
		{ "overhead_ns", r.overheadNs },
		{ "overhead_pct", r.overheadPct },
		{ "host_steal_ns", r.hostStealNs },
		{ "host_steal_measured", r.hostStealMeasured },
		{ "jain_index", r.jain ? nlohmann::json(*r.jain) : nlohmann::json(nullptr) },
		{ "fairness_note", r.fairnessNote },
		{ "max_lag_quanta", r.maxLagQuanta },
		{ "kick_latency", latencyJson(r.kickLatency) },
		{ "switch_latency", latencyJson(r.switchLatency) },
		{ "stop_signal", r.stopSignal },
		{ "duration_reached", r.durationReached },
		{ "deadlock", r.deadlock },
		{ "stdout_closed", r.stdoutClosed },
		{ "stdout_dropped_bytes", r.stdoutDroppedBytes },
		{ "channels", channelsJson(r) },
		{ "warnings", warnings },
		{ "vms", vms },
	};
	if (r.sliceOverrun) {
		const SliceOverrun &o = *r.sliceOverrun;
		doc["slice_overrun"] = { { "timed_slices", o.timedSlices },
					 { "over_budget", o.overBudget },
					 { "over_budget_frac", o.timedSlices ? static_cast<double>(o.overBudget) /
										       static_cast<double>(o.timedSlices)
									     : 0.0 },
					 { "p90_length_quanta", o.p90LengthQuanta } };
	}
	if (!r.exitTable.is_null())
		doc["exit_table"] = r.exitTable;
	return doc.dump(2) + "\n";
}

} // namespace quanta
