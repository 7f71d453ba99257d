import { isIPv4, isIPv6 } from 'node:net';

/**
 * What kind of network an IP address belongs to, for the SSRF checks of HTTP targets:
 * - `metadata`: cloud instance metadata services (169.254.169.254, 169.254.170.2, fd00:ec2::254,
 *   100.100.100.200), never reachable from a target;
 * - `link-local`: 169.254.0.0/16, fe80::/10;
 * - `loopback`: 127.0.0.0/8, ::1;
 * - `private`: 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier-grade NAT), fc00::/7;
 * - `reserved`: 0/8 ("this network", which reaches the host itself), multicast, 240/4 and
 *   broadcast, ::, ff00::/8: never a target;
 * - `public`: everything else.
 * IPv4 written inside IPv6 (::ffff:a.b.c.d mapped, ::a.b.c.d compatible, 64:ff9b::/96 NAT64,
 * 2002::/16 6to4) is classified as the IPv4 address it carries.
 */
export type AddressKind =
  'public' | 'private' | 'loopback' | 'link-local' | 'metadata' | 'reserved';

type Range4 = [base: number, bits: number, kind: AddressKind];

const V4: Range4[] = [
  [v4('169.254.169.254'), 32, 'metadata'],
  [v4('169.254.170.2'), 32, 'metadata'],
  [v4('100.100.100.200'), 32, 'metadata'],
  [v4('0.0.0.0'), 8, 'reserved'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('10.0.0.0'), 8, 'private'],
  [v4('172.16.0.0'), 12, 'private'],
  [v4('192.168.0.0'), 16, 'private'],
  [v4('100.64.0.0'), 10, 'private'],
  [v4('224.0.0.0'), 4, 'reserved'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

/** The kind of `address` (an IPv4 or IPv6 literal, IPv6 with or without brackets); undefined if it is not one. */
export function classifyAddress(address: string): AddressKind | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  if (isIPv4(bare)) return classify4(v4(bare));
  if (!isIPv6(bare)) return undefined;
  return classify6(v6(bare.replace(/%.*$/, '')));
}

function classify4(ip: number): AddressKind {
  for (const [base, bits, kind] of V4) {
    if (bits === 0 || ip >>> (32 - bits) === base >>> (32 - bits)) return kind;
  }
  return 'public';
}

function classify6(words: number[]): AddressKind {
  const zeroUpTo = (n: number): boolean => words.slice(0, n).every((w) => w === 0);
  const tail4 = (): number => ((words[6] << 16) | words[7]) >>> 0;
  if (zeroUpTo(8)) return 'reserved'; // ::
  if (zeroUpTo(7) && words[7] === 1) return 'loopback'; // ::1
  if (zeroUpTo(5) && words[5] === 0xffff) return classify4(tail4()); // ::ffff:a.b.c.d
  if (zeroUpTo(6)) return classify4(tail4()); // ::a.b.c.d
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((w) => w === 0)) {
    return classify4(tail4()); // 64:ff9b::a.b.c.d
  }
  if (words[0] === 0x2002) return classify4(((words[1] << 16) | words[2]) >>> 0); // 6to4
  const ec2 = words[0] === 0xfd00 && words[1] === 0x0ec2 && words[7] === 0x254;
  if (ec2 && words.slice(2, 7).every((w) => w === 0)) return 'metadata'; // fd00:ec2::254
  if ((words[0] & 0xffc0) === 0xfe80) return 'link-local';
  if ((words[0] & 0xfe00) === 0xfc00) return 'private';
  if ((words[0] & 0xff00) === 0xff00) return 'reserved';
  return 'public';
}

function v4(address: string): number {
  return address.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);
}

/** The eight 16-bit words of a valid IPv6 literal (net.isIPv6 checked it). */
function v6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const ip = v4(dotted[1]);
    text = `${text.slice(0, dotted.index)}${(ip >>> 16).toString(16)}:${(ip & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined): number[] =>
    part ? part.split(':').map((w) => parseInt(w, 16)) : [];
  const first = parse(head);
  const last = parse(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - first.length - last.length).fill(0);
  return [...first, ...fill, ...last];
}
