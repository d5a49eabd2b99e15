import test from 'ava';
import { compareVersions } from '../../kernel/version.ts';

test('versions are ordered as semver orders them', (t) => {
  const ordered = ['0.9.9', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.10.0', '2.0.0'];
  for (let i = 0; i + 1 < ordered.length; i++) {
    t.true(compareVersions(ordered[i], ordered[i + 1])! < 0, `${ordered[i]} < ${ordered[i + 1]}`);
    t.true(compareVersions(ordered[i + 1], ordered[i])! > 0, `${ordered[i + 1]} > ${ordered[i]}`);
  }
  t.is(compareVersions('1.2.3+build.7', '1.2.3'), 0, 'build metadata does not count');
  t.is(compareVersions('v1.2.3', '1.2.3'), 0);
});

test('versions that are not semver have no order', (t) => {
  t.is(compareVersions('2024-05', '1.0.0'), undefined);
  t.is(compareVersions('1.0', '1.0.0'), undefined);
  t.is(compareVersions('01.0.0', '1.0.0'), undefined);
});
