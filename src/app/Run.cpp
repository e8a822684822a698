#include "app/Run.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/Report.h"
#include "app/ReportExits.h"
#include "app/ReportMeta.h"
#include "base/Error.h"
#include "files/FileStore.h"
#include "host/Console.h"
#include "host/FileLimit.h"
#include "host/Input.h"
#include "host/Realtime.h"
#include "hvt/HvtSwitch.h"
#include "kvm/Kvm.h"
#include "loop/RunLoop.h"
#include "loop/StdinReader.h"
#include "sched/Fairness.h"
#include "trace/Explain.h"
#include "trace/Outputs.h"
#include "trace/StatusLine.h"
#include "trace/Trace.h"
#include "vmm/Machine.h"

namespace quanta {

namespace {

// Owns the libev loop. EVFLAG_SIGNALFD makes libev block SIGINT/SIGTERM and
// read them from a signalfd, so they interrupt KVM_RUN only through the
// vCPU signal mask and are never lost between two runs.
class EvLoop {
public:
	EvLoop()
		: loop_(ev_loop_new(EVFLAG_AUTO | EVFLAG_SIGNALFD))
	{
		if (!loop_)
			throw HostError("ev_loop_new", errno ? errno : ENOMEM);
	}
	~EvLoop() { ev_loop_destroy(loop_); }
	EvLoop(const EvLoop &) = delete;
	EvLoop &operator=(const EvLoop &) = delete;
	struct ev_loop *get() const { return loop_; }

private:
	struct ev_loop *loop_;
};

} // namespace

int run(const Options &options, const nlohmann::json &sweep)
{
	// Every image is read and loaded before KVM is touched, so a bad image
	// is reported as a usage error and no VM has run yet.
	// Two descriptors per VM: the usual soft limit (1024) would stop at ~500.
	const FileLimit fileLimit = raiseFileLimit();
	// Virtual switches (--net VM:NAME=switch:SWITCH) outlive every VM.
	hvt::SwitchHub switches;
	std::vector<PreparedGuest> prepared;
	for (const GuestConfig &config : options.guests)
		prepared.push_back(prepareGuest(config, &switches));
	// Guest memory goes after kvm (declared later), when every VM is gone:
	// a munmap walks the MMU notifier of each live VM (kvm/RunPageArena.h).
	std::vector<std::unique_ptr<GuestMemory>> memories;
	if (options.cpu)
		pinToCpu(*options.cpu);
	std::optional<std::string> realtime;
	if (options.realtime) {
		const RealtimeOutcome outcome = enterRealtime();
		if (outcome.granted) {
			realtime = fmt::format("SCHED_FIFO {}", outcome.priority);
		} else {
			realtime = "refused: " + outcome.refusal;
			fmt::print(stderr, "quanta: warning: --realtime: {}; running under the normal scheduler\n",
				   outcome.refusal);
		}
	}
	trace::RunOutputs outputs{ options.statsJsonPath, options.tracePath, options.traceCsvPath, options.plotPath,
				   options.plotStyle };
	// Fail now, not after a long run, if a result could not be written.
	trace::checkOutputs(outputs, false);
	trace::placeOutputs(outputs, options.outDir, options.runFolders);
	trace::checkOutputs(outputs);

	struct stat dirStat;
	if (::stat(options.filesDir.c_str(), &dirStat) != 0 || !S_ISDIR(dirStat.st_mode))
		throw UsageError(fmt::format("--files-dir {}: not a directory", options.filesDir));
	FileLimits limits;
	limits.maxFileSize = options.fileMaxSize;
	limits.maxFiles = options.fileQuotaFiles;
	limits.maxTotalBytes = options.fileQuotaBytes;
	FileStore files(options.sharedFiles, options.filesDir, limits);

	ChannelHub channels(options.channels, options.guests.size());

	std::optional<trace::Explain> explain;
	if (options.explain) {
		explain.emplace(stderr);
		explain->begin();
	}
	Kvm kvm("/dev/kvm", explain ? explain->observer() : IoctlObserver{});
	EvLoop loop;
	// Blocked before any vCPU exists: see KickTimer.h for why.
	sigset_t blocked;
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	::pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
	// A reader that goes away (`quanta ... | head -n1`) is an EPIPE the
	// console reports and the run ends on, not a silent death.
	std::signal(SIGPIPE, SIG_IGN);

	// Non-blocking: a slow or stuck reader parks the VMs that print, never
	// the loop (RunLoop watches stdout for writability).
	Console console(STDOUT_FILENO, options.prefixOutput, OutputQueue::Mode::NonBlocking);
	// quanta's own lines, likewise, where stderr can fill up (a pipe or a
	// file, not a terminal); --explain narrates through stdio instead.
	if (!options.explain && !::isatty(STDERR_FILENO))
		console.useDiagnosticsQueue(STDERR_FILENO);
	RunLoop *runLoop = nullptr;
	StdinReader stdinReader(loop.get(), STDIN_FILENO, [&runLoop] {
		if (runLoop)
			runLoop->onInput();
	});
	NoInput noInput;

	std::uint64_t runSeed = 0;
	if (options.seed)
		runSeed = *options.seed;
	else if (::getrandom(&runSeed, sizeof(runSeed), 0) != sizeof(runSeed))
		throw HostError("getrandom", errno);

	// Said before any VM exists, not as KVM_CREATE_VCPU failing half way.
	if (auto shortfall = fileLimitShortfall(prepared.size(), openDescriptors(), fileLimit))
		throw HostError(*shortfall);
	// Every VM before any vCPU: registering a VM's MMU notifier locks each
	// mapping of the process (mm_take_all_locks), and each vCPU adds one.
	std::vector<Vm> vms;
	vms.reserve(prepared.size());
	if (explain)
		explain->vmsCreated(prepared.size());
	for (std::size_t i = 0; i < prepared.size(); ++i)
		vms.push_back(kvm.createVm());
	std::vector<std::unique_ptr<Machine>> machines;
	for (std::size_t i = 0; i < prepared.size(); ++i) {
		DeviceOptions deviceOptions{ options.unknownPorts, deriveSeed(runSeed, i), &files, VmIndex{ i },
					     &channels, options.hypercallPorts, options.echoPorts };
		std::size_t id = console.addVm(prepared[i].name);
		InputSource &input = i == options.stdinVm ? static_cast<InputSource &>(stdinReader) : noInput;
		if (explain)
			explain->vmSetup(i, prepared[i].name, options.guests[i].imagePath, prepared[i].format,
					 prepared[i].boot.mode, prepared[i].memory->size());
		memories.push_back(std::move(prepared[i].memory));
		machines.push_back(std::make_unique<Machine>(kvm, std::move(vms[i]), *memories.back(), std::move(prepared[i]), console,
							     id, input, deviceOptions));
	}

	LoopConfig config;
	config.policy = options.policy;
	config.quantum = options.quantum;
	config.weights = options.shares;
	config.duration = options.duration;
	config.channels = &channels;
	std::optional<trace::Tracer> tracer;
	if (outputs.anyTrace())
		tracer.emplace(options.traceLevel, trace::expectedSlices(options.duration, options.quantum, machines.size()));
	trace::Observers observers;
	if (tracer)
		observers.add(*tracer);
	// Slices against their budget are always counted (a noise warning);
	// the exit table costs a clock read per exit, so only when asked for.
	SliceOverrunCounter overrun;
	observers.add(overrun);
	std::optional<ExitTable> exitTable;
	if (options.reportExits || !options.statsJsonPath.empty())
		observers.add(exitTable.emplace());
	if (explain)
		observers.add(*explain);
	config.observer = observers.empty() ? nullptr : &observers;
	// The status line and explain's narration would fight over stderr.
	const bool showStatus = trace::StatusLine::wanted(STDERR_FILENO, !options.status || options.explain);
	if (showStatus)
		config.loneSliceLimit = static_cast<Nanos>(trace::StatusLine::kPeriodSeconds * 1e9);
	if (explain)
		explain->loopSetup(sched::policyName(options.policy), options.quantum, options.duration, machines.size());
	RunLoop executive(loop.get(), machines, console, config);
	runLoop = &executive;

	std::optional<trace::StatusLine> status;
	if (showStatus) {
		std::vector<trace::StatusVm> vms;
		std::vector<double> targets = sched::targetShares(options.policy, options.shares);
		for (std::size_t i = 0; i < machines.size(); ++i)
			vms.push_back({ machines[i]->name(), targets[i] });
		status.emplace(loop.get(), STDERR_FILENO, std::move(vms), monotonicNow(), [&] {
			trace::StatusSample sample;
			sample.now = monotonicNow();
			for (std::size_t i = 0; i < machines.size(); ++i) {
				sample.ranNs.push_back(executive.scheduler().stats(i, sample.now).ranNs);
				sample.exits += machines[i]->stats().guestExits + machines[i]->stats().interrupts;
			}
			return sample;
		});
		console.setBeforeOutput([&status] { status->clear(); });
	}
	if (explain)
		explain->runStarting(config.batchLimit);
	RunMetadata meta = startMetadata(runSeed);
	meta.cpuPinned = options.cpu;
	meta.realtime = realtime;
	meta.sweep = sweep;
	RunRecord record = executive.run();
	finishMetadata(meta);
	runLoop = nullptr;
	console.setBeforeOutput({});
	status.reset(); // erases the line before the report

	RunReport report = buildReport(record, executive.scheduler(), machines, &channels);
	addSliceOverrun(report, overrun.overrun());
	addNoiseWarnings(report, meta);
	if (realtime)
		report.hostScheduling = "--realtime: " + *realtime;
	if (exitTable) {
		report.exitTable = exitTableJson(*exitTable);
		if (options.reportExits)
			report.exitTableText = formatExitTable(*exitTable);
	}
	bool showTable = options.report == Options::ReportMode::Always ||
			 (options.report == Options::ReportMode::Auto &&
			  (machines.size() > 1 || record.stopSignal || record.durationReached ||
			   record.stdoutClosed));
	if (showTable)
		console.diagnostic(formatReportTable(report));
	else if (options.reportExits)
		console.diagnostic(report.exitTableText);
	// After the report, through the same queue, so the order holds.
	const trace::Say say = [&console](std::string_view line) { console.diagnostic(line); };
	if (!outputs.statsJson.empty())
		trace::writeOutput(outputs.statsJson, reportJson(report, meta), "quanta", say);
	if (tracer) {
		trace::TraceData &data = tracer->data();
		data.policy = report.policy;
		data.quantum = report.quantumNs;
		data.origin = record.startNs;
		data.wall = record.wallNs;
		data.schemaVersion = kSchemaVersion;
		data.metaJson = metadataJson(meta).dump();
		for (const VmReport &vm : report.vms)
			data.vms.push_back({ vm.name, vm.weight, vm.targetShare });
		trace::writeTraceFiles(data, outputs, say);
	}

	// The report reaches a slow stderr before quanta exits; after a signal
	// quanta does not wait for it (the JSON is already written).
	console.finishDiagnostics(!record.stopSignal);

	if (record.stopSignal)
		return 128 + record.stopSignal;
	// As a shell reports any program whose reader went away: 128 + SIGPIPE.
	if (record.stdoutClosed)
		return record.stdoutError == EPIPE ? 128 + SIGPIPE : kExitHost;
	// Not the guest's fault: the same run works where KVM runs every mode.
	for (const auto &vm : record.vms)
		if (vm.hostCannotRun)
			return kExitHost;
	if (options.guestExitStatus && machines.size() == 1) {
		// As solo5-hvt: the guest's status after its halt call, else 1.
		if (record.vms[0].status == VmStatus::Faulted)
			return kExitGuestFault;
		const hvt::HvtHypercalls *hvt = machines[0]->hvt();
		auto status = hvt ? hvt->exitStatus() : std::nullopt;
		return status ? *status & 0xff : kExitGuestFault;
	}
	if (record.deadlock)
		return kExitGuestFault;
	for (const auto &vm : record.vms)
		if (vm.status == VmStatus::Faulted || vm.status == VmStatus::Failed)
			return kExitGuestFault;
	return kExitOk;
}

} // namespace quanta
