// Move-only owner of an mmap()ed region.
#pragma once

#include <cstddef>
#include <sys/mman.h>
#include <utility>

namespace quanta {

class Mapping {
public:
	Mapping() = default;
	Mapping(void *addr, std::size_t size)
		: addr_(addr), size_(size) {}
	~Mapping() { reset(); }

	Mapping(Mapping &&other) noexcept
		: addr_(std::exchange(other.addr_, nullptr)),
		  size_(std::exchange(other.size_, 0))
	{
	}
	Mapping &operator=(Mapping &&other) noexcept
	{
		if (this != &other) {
			reset();
			addr_ = std::exchange(other.addr_, nullptr);
			size_ = std::exchange(other.size_, 0);
		}
		return *this;
	}
	Mapping(const Mapping &) = delete;
	Mapping &operator=(const Mapping &) = delete;

	void *get() const { return addr_; }
	std::size_t size() const { return size_; }
	void reset()
	{
		if (addr_)
			::munmap(addr_, size_);
		addr_ = nullptr;
		size_ = 0;
	}

private:
	void *addr_ = nullptr;
	std::size_t size_ = 0;
};

} // namespace quanta
