/* SPDX-License-Identifier: MIT */
/* A bounds-checked parser from one captured link-layer frame to the packet facts that
 * classification needs (struct obs_packet in observe/observe.h). */
#ifndef NP_OBSERVE_PACKET_H
#define NP_OBSERVE_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/observe.h"

/* The longest chain of IPv6 extension headers walked before the packet counts as malformed
 * (real traffic has one or two; a long chain is an evasion attempt or garbage). */
#define OBS_IPV6_EXT_MAX 8

/* Whether obs_packet_parse understands this link type (a pcap DLT_* value as returned by
 * pcap_datalink): DLT_NULL, DLT_EN10MB, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_LINUX_SLL and
 * DLT_LINUX_SLL2. */
bool obs_linktype_supported(int linktype);

/* Parses frame[0..caplen) captured on a link of type linktype at time (unix seconds) into
 * *out (zeroed first, then filled; out->time = time).
 *
 * Ethernet may carry one 802.1Q / 802.1ad tag. IPv4 header options are skipped by IHL;
 * IPv6 extension headers are walked up to OBS_IPV6_EXT_MAX. The IP packet ends at its
 * stated length or at caplen, whichever comes first (Ethernet padding is dropped, a short
 * snaplen is tolerated as long as the headers are complete).
 *
 * TCP, UDP, ICMP and ICMPv6 fill ports, flags, seq, window and icmp_type. Any other
 * protocol, or an ESP / "no next header" IPv6 chain, is reported with its protocol number
 * and no transport fields. A non-first fragment (IPv4 offset != 0, or an IPv6 fragment
 * header with offset != 0) has no transport header: proto is then IPPROTO_FRAGMENT (44)
 * and the transport fields are zero, so it never looks like a TCP or ICMP packet.
 *
 * Returns NP_OK; NP_ENOTFOUND when the frame is well formed but not IP (ARP, a second
 * VLAN tag, an unknown SLL protocol); NP_EMALFORMED when a header is truncated or
 * inconsistent; NP_EINVAL for an unsupported link type. *out is only meaningful on NP_OK.
 * Never reads outside frame[0..caplen). */
int obs_packet_parse(int linktype, const uint8_t *frame, size_t caplen, int64_t time,
                     struct obs_packet *out) np_mustcheck;

/* obs_packet_parse without its fast path for the common Ethernet/IPv4/TCP frame: the
 * reference the fast path is tested against. Same contract. */
int obs_packet_parse_general(int linktype, const uint8_t *frame, size_t caplen, int64_t time,
                             struct obs_packet *out) np_mustcheck;

#endif
