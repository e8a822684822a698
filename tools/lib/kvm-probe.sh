# shellcheck shell=bash
# Shared probe: does this host offer a usable /dev/kvm?
# Sourced by tools/kvm-run and tools/setup-deps so both decide the same way.

# kvm_probe: returns 0 if /dev/kvm exists, is readable and writable, reports
# KVM API version 12 and lets us create a VM. On failure, sets KVM_PROBE_WHY
# to a short human-readable reason.
# shellcheck disable=SC2034  # read by the scripts that source us
KVM_PROBE_WHY=""
kvm_probe() {
    local dev=${1:-/dev/kvm}
    KVM_PROBE_WHY=""
    if [[ ! -e $dev ]]; then
        KVM_PROBE_WHY="no $dev on host"
        return 1
    fi
    if [[ ! -r $dev || ! -w $dev ]]; then
        KVM_PROBE_WHY="$dev is not readable and writable by $(id -un)"
        return 1
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        KVM_PROBE_WHY="python3 is missing, cannot probe $dev (apt-get install python3)"
        return 1
    fi
    # Existing and accessible is not enough: in some VMs the node exists but
    # KVM_CREATE_VM fails (no nested virtualisation), so actually try it.
    local out
    if ! out=$(python3 - "$dev" 2>&1 <<'PY'
import fcntl, os, sys
KVM_GET_API_VERSION = 0xAE00
KVM_CREATE_VM = 0xAE01
try:
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CLOEXEC)
except OSError as e:
    sys.exit(f"open failed: {e.strerror}")
try:
    api = fcntl.ioctl(fd, KVM_GET_API_VERSION, 0)
    if api != 12:
        sys.exit(f"KVM_GET_API_VERSION returned {api}, expected 12")
    vm = fcntl.ioctl(fd, KVM_CREATE_VM, 0)
    os.close(vm)
except OSError as e:
    sys.exit(f"ioctl failed: {e.strerror}")
PY
    ); then
        KVM_PROBE_WHY="$dev unusable: ${out:-probe failed}"
        return 1
    fi
    # Creating a VM is not enough either: some KVMs (software or nested
    # ones) cannot run every CPU mode. With QUANTA_KVM_CHECK set to a quanta
    # binary, its --kvm-check boots a tiny guest in every mode and page size.
    if [[ -n ${QUANTA_KVM_CHECK:-} ]]; then
        if ! out=$("$QUANTA_KVM_CHECK" --kvm-check 2>&1); then
            KVM_PROBE_WHY="$dev cannot run every CPU mode: $(grep -m1 FAILED <<<"$out" | tr -s ' ' || echo "quanta --kvm-check failed")"
            return 1
        fi
    fi
    return 0
}
