// A Solo5 unikernel that pings: COUNT ICMP echo requests (command line,
// default 100) from 10.0.0.1 to 10.0.0.2 (Solo5's test_net answers there)
// on its net device "service0", each waiting up to a second for its reply
// in solo5_yield (parked, no CPU). Prints how many came back; SUCCESS when
// all did.
#include "solo5.h"

#define ETHERTYPE_IP 0x0800

struct __attribute__((packed)) frame {
	uint8_t target[6];
	uint8_t source[6];
	uint16_t type;
	uint8_t versionIhl;
	uint8_t tos;
	uint16_t length;
	uint16_t id;
	uint16_t flagsOffset;
	uint8_t ttl;
	uint8_t proto;
	uint16_t ipChecksum;
	uint8_t src[4];
	uint8_t dst[4];
	uint8_t icmpType;
	uint8_t icmpCode;
	uint16_t icmpChecksum;
	uint16_t icmpId;
	uint16_t seq;
	uint8_t payload[32];
};

static uint16_t swap16(uint16_t v)
{
	return (uint16_t)((v << 8) | (v >> 8));
}

static uint16_t checksum(const void *data, size_t size)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < size; i += 2)
		sum += (uint32_t)(p[i] | (p[i + 1] << 8));
	if (size & 1)
		sum += p[size - 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	solo5_console_write(s, n);
}

static void putNumber(unsigned long long v)
{
	char buf[24];
	int i = sizeof(buf);
	buf[--i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(&buf[i]);
}

int solo5_app_main(const struct solo5_start_info *si)
{
	unsigned long long count = 0;
	for (const char *s = si->cmdline; *s >= '0' && *s <= '9'; s++)
		count = count * 10 + (unsigned long long)(*s - '0');
	if (count == 0)
		count = 100;

	solo5_handle_t net;
	struct solo5_net_info info;
	if (solo5_net_acquire("service0", &net, &info) != SOLO5_R_OK) {
		put("ping: no net device service0\n");
		return SOLO5_EXIT_FAILURE;
	}
	static uint8_t buffer[9216 + 18];
	unsigned long long replies = 0;
	for (unsigned long long seq = 1; seq <= count; seq++) {
		struct frame f;
		uint8_t *raw = (uint8_t *)&f;
		for (size_t i = 0; i < sizeof(f); i++)
			raw[i] = 0;
		for (int i = 0; i < 6; i++) {
			f.target[i] = 0xff; // broadcast: no ARP needed
			f.source[i] = info.mac_address[i];
		}
		f.type = swap16(ETHERTYPE_IP);
		f.versionIhl = 0x45;
		f.length = swap16((uint16_t)(sizeof(f) - 14));
		f.ttl = 64;
		f.proto = 1;
		f.src[0] = 10, f.src[3] = 1;
		f.dst[0] = 10, f.dst[3] = 2;
		f.ipChecksum = checksum(&f.versionIhl, 20);
		f.icmpType = 8;
		f.icmpId = swap16(0x5135);
		f.seq = swap16((uint16_t)seq);
		for (int i = 0; i < 32; i++)
			f.payload[i] = (uint8_t)(seq + (unsigned long long)i);
		f.icmpChecksum = checksum(&f.icmpType, 8 + 32);
		if (solo5_net_write(net, raw, sizeof(f)) != SOLO5_R_OK) {
			put("ping: write failed\n");
			return SOLO5_EXIT_FAILURE;
		}
		solo5_time_t deadline = solo5_clock_monotonic() + 1000000000ull;
		int answered = 0;
		while (!answered && solo5_clock_monotonic() < deadline) {
			solo5_handle_set_t ready = 0;
			solo5_yield(deadline, &ready);
			if (!(ready & (1ull << net)))
				continue;
			size_t size;
			while (solo5_net_read(net, buffer, sizeof(buffer), &size) == SOLO5_R_OK) {
				const struct frame *r = (const struct frame *)buffer;
				if (size >= sizeof(f) && r->type == swap16(ETHERTYPE_IP) && r->proto == 1 &&
				    r->icmpType == 0 && r->seq == swap16((uint16_t)seq))
					answered = 1;
			}
		}
		replies += (unsigned long long)answered;
	}
	put("ping: ");
	putNumber(count);
	put(" sent, ");
	putNumber(replies);
	put(" replies\n");
	if (replies == count)
		put("SUCCESS\n");
	return replies == count ? SOLO5_EXIT_SUCCESS : SOLO5_EXIT_FAILURE;
}
