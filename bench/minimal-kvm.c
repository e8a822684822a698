/*
 * minimal-kvm: the smallest useful loop around KVM_RUN, the baseline for
 * the cost of one I/O exit in quanta (tools/bench).
 *
 * One VM, one vCPU, 2 MiB of memory, a flat real-mode image loaded at 0,
 * CS = DS = ES = SS = 0, IP = 0, SP = 0. The loop calls KVM_RUN, counts
 * KVM_EXIT_IO exits (OUT only; IN fills the data with 0xff) and stops at
 * HLT. Only the loop is timed (CLOCK_MONOTONIC just before the first
 * KVM_RUN and just after the HLT exit), so process start and VM setup are
 * excluded, as quanta's report excludes them from its wall time.
 *
 * Usage: minimal-kvm [--signal-mask] [--timed] [--cpuid] IMAGE
 * Two options add one part of quanta's per-exit mechanics each, to show
 * where a difference comes from (the plain loop is the baseline):
 *   --signal-mask  what quanta does for its kick: block SIGRTMIN, SIGINT and
 *                  SIGTERM in the thread and unblock them only inside
 *                  KVM_RUN (KVM_SET_SIGNAL_MASK), so the kernel swaps the
 *                  signal mask on every KVM_RUN;
 *   --timed        read CLOCK_MONOTONIC before and after every KVM_RUN, as
 *                  quanta does to charge guest time;
 *   --cpuid        give the vCPU KVM's whole supported CPUID
 *                  (KVM_GET_SUPPORTED_CPUID -> KVM_SET_CPUID2), as quanta
 *                  does; without it the vCPU keeps KVM's default (empty)
 *                  CPUID.
 * Prints a readable line and a JSON line on stdout:
 *   {"exits_io_out": N, "exits_io_in": N, "exits_total": N, "loop_ns": N, "ns_per_exit": X}
 * Exit status: 0 on HLT, 1 on an unexpected exit, 2 on bad usage or image,
 * 3 on a KVM error.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20)
#define TSS_ADDR 0xfffbd000u /* as quanta: below 4 GiB, outside guest memory */

static void die_errno(const char *what)
{
	fprintf(stderr, "minimal-kvm: %s: %s\n", what, strerror(errno));
	exit(3);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static size_t load_image(const char *path, uint8_t *mem)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "minimal-kvm: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	size_t total = 0;
	for (;;) {
		if (total == MEM_SIZE) {
			fprintf(stderr, "minimal-kvm: %s: larger than guest memory\n", path);
			exit(2);
		}
		ssize_t n = read(fd, mem + total, MEM_SIZE - total);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "minimal-kvm: %s: %s\n", path, strerror(errno));
			exit(2);
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	if (total == 0) {
		fprintf(stderr, "minimal-kvm: %s: empty image\n", path);
		exit(2);
	}
	return total;
}

/* quanta's guestRunSignalMask: the thread's mask minus the kick signals. */
static void set_signal_mask(int vcpu)
{
	sigset_t block, run_mask;
	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &block, NULL) != 0)
		die_errno("pthread_sigmask");
	pthread_sigmask(SIG_SETMASK, NULL, &run_mask);
	sigdelset(&run_mask, SIGRTMIN);
	sigdelset(&run_mask, SIGINT);
	sigdelset(&run_mask, SIGTERM);

	/* struct kvm_signal_mask ends in a flexible array: the kernel's sigset is 8 bytes. */
	union {
		struct kvm_signal_mask header;
		uint8_t bytes[sizeof(struct kvm_signal_mask) + 8];
	} arg;
	memset(&arg, 0, sizeof(arg));
	arg.header.len = 8;
	memcpy(arg.bytes + sizeof(struct kvm_signal_mask), &run_mask, 8);
	if (ioctl(vcpu, KVM_SET_SIGNAL_MASK, &arg) < 0)
		die_errno("KVM_SET_SIGNAL_MASK");
}

/* quanta's Machine: the vCPU gets everything KVM supports. */
static void set_supported_cpuid(int kvm, int vcpu)
{
	enum { MAX_ENTRIES = 256 };
	size_t size = sizeof(struct kvm_cpuid2) + MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = calloc(1, size);
	if (!cpuid)
		die_errno("calloc");
	cpuid->nent = MAX_ENTRIES;
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		die_errno("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0)
		die_errno("KVM_SET_CPUID2");
	free(cpuid);
}

static void real_mode_segment(struct kvm_segment *seg)
{
	seg->base = 0;
	seg->selector = 0;
	seg->limit = 0xffff;
}

int main(int argc, char **argv)
{
	int signal_mask = 0, timed = 0, cpuid = 0;
	while (argc > 2) {
		if (strcmp(argv[1], "--signal-mask") == 0)
			signal_mask = 1;
		else if (strcmp(argv[1], "--timed") == 0)
			timed = 1;
		else if (strcmp(argv[1], "--cpuid") == 0)
			cpuid = 1;
		else
			break;
		--argc;
		++argv;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: minimal-kvm [--signal-mask] [--timed] [--cpuid] IMAGE\n");
		return 2;
	}

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die_errno("open /dev/kvm");
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "minimal-kvm: unexpected KVM API version\n");
		return 3;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die_errno("KVM_CREATE_VM");
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0 &&
	    ioctl(vm, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0)
		die_errno("KVM_SET_TSS_ADDR");

	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die_errno("mmap guest memory");
	size_t image_size = load_image(argv[1], mem);

	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die_errno("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die_errno("KVM_CREATE_VCPU");
	int mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run))
		die_errno("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die_errno("mmap kvm_run");

	if (cpuid)
		set_supported_cpuid(kvm, vcpu);

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die_errno("KVM_GET_SREGS");
	real_mode_segment(&sregs.cs);
	real_mode_segment(&sregs.ds);
	real_mode_segment(&sregs.es);
	real_mode_segment(&sregs.fs);
	real_mode_segment(&sregs.gs);
	real_mode_segment(&sregs.ss);
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die_errno("KVM_SET_SREGS");

	if (signal_mask)
		set_signal_mask(vcpu);

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rsp = 0;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die_errno("KVM_SET_REGS");

	uint64_t io_out = 0, io_in = 0, total = 0;
	int64_t in_run_ns = 0; /* --timed: the sum of the KVM_RUN intervals */
	int status = 0;
	int64_t start = now_ns();
	for (;;) {
		int64_t t0 = timed ? now_ns() : 0;
		int rc = ioctl(vcpu, KVM_RUN, 0);
		if (timed)
			in_run_ns += now_ns() - t0;
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die_errno("KVM_RUN");
		}
		++total;
		if (run->exit_reason == KVM_EXIT_IO) {
			if (run->io.direction == KVM_EXIT_IO_OUT) {
				++io_out;
			} else {
				++io_in;
				memset((uint8_t *)run + run->io.data_offset, 0xff,
				       (size_t)run->io.size * run->io.count);
			}
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		fprintf(stderr, "minimal-kvm: unexpected exit reason %u after %llu exits\n",
			run->exit_reason, (unsigned long long)total);
		status = 1;
		break;
	}
	int64_t loop_ns = now_ns() - start;

	uint64_t io = io_out + io_in;
	double per_exit = io ? (double)loop_ns / (double)io : 0.0;
	printf("minimal-kvm%s%s%s: image %zu bytes, %llu I/O exits (%llu OUT, %llu IN), %llu exits in all, "
	       "loop %.3f ms, %.1f ns per I/O exit\n",
	       signal_mask ? " --signal-mask" : "", timed ? " --timed" : "",
	       cpuid ? " --cpuid" : "", image_size, (unsigned long long)io, (unsigned long long)io_out, (unsigned long long)io_in,
	       (unsigned long long)total, (double)loop_ns / 1e6, per_exit);
	printf("{\"exits_io_out\": %llu, \"exits_io_in\": %llu, \"exits_total\": %llu, "
	       "\"loop_ns\": %lld, \"ns_per_exit\": %.1f, \"in_run_ns\": %lld, \"signal_mask\": %s, \"timed\": %s, "
	       "\"cpuid\": %s, \"halted\": %s}\n",
	       (unsigned long long)io_out, (unsigned long long)io_in, (unsigned long long)total,
	       (long long)loop_ns, per_exit, (long long)in_run_ns, signal_mask ? "true" : "false",
	       timed ? "true" : "false", cpuid ? "true" : "false", status == 0 ? "true" : "false");
	return status;
}
