import { clientAddressKey, UNKNOWN_CLIENT } from './client-address';

describe(clientAddressKey.name, () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['127.0.0.1', '127.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
  ])('keeps the IPv4 address %s as %s', (ip, key) => {
    expect(clientAddressKey(ip)).toBe(key);
  });

  it.each([
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:127.0.0.1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:cb00:7107', '203.0.113.7'],
  ])('reads the IPv4-mapped IPv6 address %s as the IPv4 address %s', (ip, key) => {
    expect(clientAddressKey(ip)).toBe(key);
  });

  it.each([
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0000:0000:0000:0001', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8::/64'],
    ['2001:db8:0:0:1::', '2001:db8::/64'],
    ['2001:db8:0:5::9', '2001:db8:0:5::/64'],
    ['0:0:0:1::', '0:0:0:1::/64'],
    ['::1', '::/64'],
    ['::', '::/64'],
    ['fe80::1%eth0', 'fe80::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b::/64'],
    ['2001:db8:aaaa:bbbb:cccc:dddd:1.2.3.4', '2001:db8:aaaa:bbbb::/64'],
  ])('groups the IPv6 address %s into its /64, %s', (ip, key) => {
    expect(clientAddressKey(ip)).toBe(key);
  });

  it('puts every address of one /64 into one group and neighbouring /64s apart', () => {
    const keys = ['2001:db8:1:2::1', '2001:db8:1:2:abcd::', '2001:db8:1:2:1:2:3:4', '2001:db8:1:3::1', '2001:db8:1:1::1'].map(clientAddressKey);
    expect(keys).toEqual(['2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:1:2::/64', '2001:db8:1:3::/64', '2001:db8:1:1::/64']);
  });

  it.each([[undefined], [''], ['not an address'], ['203.0.113.256'], ['2001:db8::1::2'], ['[2001:db8::1]']])('answers %p with the unknown key', (ip) => {
    expect(clientAddressKey(ip)).toBe(UNKNOWN_CLIENT);
  });
});
