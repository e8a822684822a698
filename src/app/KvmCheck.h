#pragma once

namespace quanta {

// Boots a 5-byte guest in every CPU mode and page size on this host's KVM
// and prints one line per configuration. Returns 0 when all work, else 3.
// Some KVM implementations (e.g. nested or software ones) lack modes: this
// is how tools/kvm-run decides whether /dev/kvm is usable for the tests.
int checkKvm();

} // namespace quanta
