// `protofly stub keygen|sign|verify`: a domain's Ed25519 key and its stubs'
// signatures, in wasmsign2's formats (plugins/trust), so either tool reads
// what the other wrote.
import { readFile, writeFile } from 'node:fs/promises';
import { pfError } from '../kernel/errors.ts';
import { generateKeyPair, parseKeyPair, publicKeyToText, serializeKeyPair } from '../plugins/trust/keys.ts';
import { signComponent, verifyComponent } from '../plugins/trust/wasm-signature.ts';
import { flagString, type Args } from './args.ts';

export async function keygenCommand(file: string | undefined): Promise<number> {
  if (!file) throw pfError('PF_ERR_KIT_USAGE', ['stub keygen needs a file for the key pair: protofly stub keygen <file>']);
  const pair = await generateKeyPair();
  // The secret half: readable by its owner only, and never overwritten.
  await writeFile(file, serializeKeyPair(pair), { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    throw pfError('PF_ERR_KIT_USAGE', [error.code === 'EEXIST' ? `${file} exists: a key pair is not overwritten` : `cannot write ${file}: ${error.message}`]);
  });
  console.error(`wrote the key pair to ${file}; pin its public key in the runtimes that deploy your stubs:`);
  console.log(publicKeyToText(pair.publicKey));
  return 0;
}

export async function signCommand(component: string | undefined, args: Args): Promise<number> {
  const keyFile = flagString(args, 'key');
  if (!component || !keyFile) throw pfError('PF_ERR_KIT_USAGE', ['stub sign needs a component and a key pair: protofly stub sign <component.wasm> --key <file>']);
  const pair = await readKeyPair(keyFile);
  const signed = await signComponent(new Uint8Array(await readFile(component)), pair);
  // In place, as wasmsign2 can: the descriptor's sourceHash must then be of these bytes.
  await writeFile(component, signed);
  console.error(`signed ${component} with ${publicKeyToText(pair.publicKey)}`);
  return 0;
}

export async function verifyCommand(component: string | undefined, args: Args): Promise<number> {
  const key = flagString(args, 'key');
  if (!component || !key) throw pfError('PF_ERR_KIT_USAGE', ['stub verify needs a component and a public key: protofly stub verify <component.wasm> --key ed25519:…']);
  await verifyComponent(new Uint8Array(await readFile(component)), [key]);
  console.log(`${component}: signed by ${key}`);
  return 0;
}

/** A key pair file as `stub keygen` (or wasmsign2) writes it. */
export async function readKeyPair(file: string) {
  const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw pfError('PF_ERR_KIT_USAGE', [`cannot read the key pair ${file}: ${error.message}`]);
  });
  return parseKeyPair(new Uint8Array(bytes));
}
