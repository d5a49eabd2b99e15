import test from 'ava';
import { isAllowed } from '../../plugins/transport/connect-policy.ts';

const connect = ['ws://127.0.0.1:8080/mqtt', 'wss://broker.example.com/'];

test('a stub may open exactly what its descriptor lists, and paths below it', (t) => {
  t.true(isAllowed('ws://127.0.0.1:8080/mqtt', connect));
  t.true(isAllowed('ws://127.0.0.1:8080/mqtt/v2', connect));
  t.true(isAllowed('wss://broker.example.com/anything', connect));
});

test('a listed prefix does not open a neighbour: another port, host, scheme or path', (t) => {
  t.false(isAllowed('ws://127.0.0.1:80800/mqtt', connect));
  t.false(isAllowed('ws://127.0.0.1:8081/mqtt', connect));
  t.false(isAllowed('ws://127.0.0.1:8080/mqttx', connect));
  t.false(isAllowed('wss://127.0.0.1:8080/mqtt', connect));
  t.false(isAllowed('wss://broker.example.com.evil.net/', connect));
  t.false(isAllowed('ws://user:pw@127.0.0.1:8080/mqtt', connect));
});

test('non-WebSocket URLs and garbage are refused', (t) => {
  t.false(isAllowed('http://127.0.0.1:8080/mqtt', ['http://127.0.0.1:8080/mqtt']));
  t.false(isAllowed('not a url', connect));
  t.false(isAllowed('ws://127.0.0.1:8080/mqtt', []));
});
