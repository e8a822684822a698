// The exit table users know from `perf kvm stat`: per exit reason and per
// port, the count, the share of all exits and the time spent handling
// them (total, min, average, max); and how long slices ran against their
// budget (the slice-overrun noise warning). Both are fed by the run loop's
// observer interface (trace/Trace.h); the sums are pure (add*), so they are
// unit-tested without KVM.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/Report.h"
#include "base/Clock.h"
#include "trace/Trace.h"

namespace quanta {

struct ExitTime {
	std::uint64_t count = 0;
	Nanos totalNs = 0;
	Nanos minNs = 0;
	Nanos maxNs = 0;
	void add(Nanos ns);
	Nanos avgNs() const { return count ? totalNs / static_cast<Nanos>(count) : 0; }
};

struct PortKey {
	std::uint16_t port;
	bool out;
	auto operator<=>(const PortKey &) const = default;
};

struct PortRow {
	ExitTime time;
	std::string device; // the port's device ("" if none)
};

class ExitTable final : public trace::LoopObserver {
public:
	// Handling time runs from the exit back in userspace to the moment
	// the loop reports it handled. A parked exit completed later (a
	// retry) was counted when it parked.
	void exitHandled(const trace::ExitSeen &exit) override;

	// The pure side. reason: KVM_EXIT_*.
	void addExit(std::uint32_t reason, std::optional<PortKey> port, std::string_view device, Nanos handlingNs);

	// Keyed by KVM_EXIT_* (named by trace::exitReasonName when shown).
	const std::map<std::uint32_t, ExitTime> &byReason() const { return byReason_; }
	const std::map<PortKey, PortRow> &byPort() const { return byPort_; }
	std::uint64_t exits() const { return exits_; }
	Nanos totalNs() const { return totalNs_; }

private:
	std::map<std::uint32_t, ExitTime> byReason_;
	std::map<PortKey, PortRow> byPort_;
	std::uint64_t exits_ = 0;
	Nanos totalNs_ = 0;
};

// Slices against their budget: the slice timer's length when the slice
// began; over kOverrunFactor budgets (Report.h) is an overrun. Slices
// without a timer (a lone VM) have no budget and are not counted.
class SliceOverrunCounter final : public trace::LoopObserver {
public:
	void sliceStarted(const trace::SliceStart &slice) override { budget_ = slice.timer; }
	void sliceEnded(const trace::SliceEvent &slice, std::string_view) override
	{
		addSlice(slice.end - slice.start, budget_);
		budget_.reset();
	}

	// The pure side.
	void addSlice(Nanos length, std::optional<Nanos> budget);
	SliceOverrun overrun() const;

private:
	std::optional<Nanos> budget_; // of the slice running now (one at a time)
	std::vector<double> lengthBudgets_;
	std::uint64_t overBudget_ = 0;
};

// The table as `perf kvm stat report` prints it (times in us), after a
// blank line; and the same figures as JSON (the report's "exit_table").
std::string formatExitTable(const ExitTable &table);
nlohmann::json exitTableJson(const ExitTable &table);

} // namespace quanta
