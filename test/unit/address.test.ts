import test from 'ava';
import { domainOfAddress, isInDomain, parseDomain, stubURLOf } from '../../kernel/address.ts';

test('a bare domain name is fetched over https', (t) => {
  t.deepEqual(parseDomain('example.com'), { name: 'example.com', origin: 'https://example.com' });
});

test('a loopback origin may use plain http, and a bare loopback host defaults to it', (t) => {
  t.deepEqual(parseDomain('http://127.0.0.1:8080'), { name: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' });
  t.deepEqual(parseDomain('127.0.0.1:8080'), { name: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' });
  t.deepEqual(parseDomain('localhost:9'), { name: 'localhost:9', origin: 'http://localhost:9' });
});

test('plain http anywhere else is refused', (t) => {
  t.throws(() => parseDomain('http://example.com'), { code: 'PF_ERR_INSECURE_ORIGIN' });
  t.throws(() => parseDomain('http://127.0.0.1.example.com'), { code: 'PF_ERR_INSECURE_ORIGIN' });
});

test('things that are not a domain or an origin are refused with PF_ERR_DOMAIN_INVALID', (t) => {
  for (const bad of ['', 'ftp://example.com', 'https://example.com/path', 'https://user:pw@example.com', 'https://example.com?x=1', 'exa mple.com']) {
    t.throws(() => parseDomain(bad), { code: 'PF_ERR_DOMAIN_INVALID' }, bad);
  }
});

test('the domain of an address is its host, port included', (t) => {
  t.is(domainOfAddress('hyperty://example.com/alice'), 'example.com');
  t.is(domainOfAddress('hyperty://127.0.0.1:8080/bob/x'), '127.0.0.1:8080');
  t.is(domainOfAddress('not an address'), undefined);
});

test('an address is in a domain exactly when its host is that domain', (t) => {
  t.true(isInDomain('hyperty://example.com/alice', 'example.com'));
  t.true(isInDomain('hyperty://example.com', 'example.com'));
  t.true(isInDomain('hyperty://EXAMPLE.com/x', 'example.com'), 'host names are case-insensitive');
  t.false(isInDomain('hyperty://example.com.evil.net/x', 'example.com'));
  t.false(isInDomain('hyperty://example.community/x', 'example.com'));
  t.false(isInDomain('hyperty://other.org/example.com', 'example.com'));
  t.false(isInDomain('not an address example.com', 'example.com'));
  t.true(isInDomain('hyperty://127.0.0.1:8080/bob', '127.0.0.1:8080'));
  t.false(isInDomain('hyperty://127.0.0.1:80800/bob', '127.0.0.1:8080'));
});

test('an address in a domain needs a well-formed scheme before its host', (t) => {
  t.true(isInDomain('a+b.c-9://example.com/x', 'example.com'));
  t.true(isInDomain('HYPERTY://example.com/x', 'example.com'));
  for (const address of ['://example.com/x', '9hyperty://example.com/x', 'hy perty://example.com/x', 'hy_perty://example.com/x', 'hyp\u00e9rty://example.com/x', '+x://example.com/x']) {
    t.false(isInDomain(address, 'example.com'), address);
    t.is(isInDomain(address, 'example.com'), domainOfAddress(address) === 'example.com', `${address}: the same answer as domainOfAddress`);
  }
});

test('a stub URL and every address below it name that stub; nothing else does', (t) => {
  const stub = 'hyperty-runtime://example.com/protostub/1a2b3c4d';
  t.is(stubURLOf(stub), stub);
  t.is(stubURLOf(`${stub}/status`), stub);
  t.is(stubURLOf(`${stub}/a/b`), stub);
  for (const other of ['hyperty-runtime://runtime-id', 'hyperty-runtime://example.com/protostub/', 'hyperty-runtime://example.com/protostub//x',
    'hyperty-runtime:///protostub/1', 'hyperty-runtime://example.com/registry/1', 'hyperty://example.com/protostub/1', '']) {
    t.is(stubURLOf(other), undefined, other);
  }
});
