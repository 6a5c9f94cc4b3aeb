/**
 * A small SMTP server for the tests, on 127.0.0.1 only, and a MIME reader for what it receives. It speaks
 * just what nodemailer uses (EHLO, AUTH PLAIN/LOGIN, MAIL, RCPT, DATA, RSET, QUIT), and lets a test make
 * it refuse a login, a recipient or a message, as a real server would.
 */
import net from 'node:net';

/** One message the server accepted. */
export interface ReceivedMail {
  /** The login it came with, if any. */
  login: { user: string; password: string } | undefined;
  envelopeFrom: string;
  envelopeTo: string[];
  raw: string;
}

/** A reply that overrides the normal answer, e.g. `550 5.1.1 mailbox unavailable`; undefined = normal. */
export type Refusal = string | undefined;

/** What a test can make the server do. */
export interface ReceiverBehaviour {
  /** A login to require; any other is answered 535. */
  login?: { user: string; password: string };
  onRcpt?: (address: string) => Refusal;
  onData?: (mail: ReceivedMail) => Refusal;
}

/** The test SMTP server; `received` holds every message it accepted, in order. */
export class SmtpReceiver {
  readonly received: ReceivedMail[] = [];
  behaviour: ReceiverBehaviour;
  private server: net.Server | undefined;
  private sockets = new Set<net.Socket>();
  private boundPort = 0;

  constructor(behaviour: ReceiverBehaviour = {}) {
    this.behaviour = behaviour;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Listens on 127.0.0.1 (a free port the first time, the same port again after `close`). */
  async listen(): Promise<number> {
    const server = net.createServer((socket) => this.session(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
    return this.boundPort;
  }

  /** Stops listening and drops open sessions: the port then refuses connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private session(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    const reply = (line: string) => socket.write(`${line}\r\n`);
    let buffer = '';
    let login: ReceivedMail['login'];
    let from = '';
    let to: string[] = [];
    let data: string[] | undefined;
    let awaiting: 'plain' | 'login-user' | 'login-pass' | undefined;
    let loginUser = '';

    const checkLogin = (user: string, password: string) => {
      const wanted = this.behaviour.login;
      if (wanted && (wanted.user !== user || wanted.password !== password)) {
        reply('535 5.7.8 Authentication credentials invalid');
        return;
      }
      login = { user, password };
      reply('235 2.7.0 Authentication successful');
    };
    const plain = (b64: string) => {
      const [, user = '', password = ''] = Buffer.from(b64, 'base64').toString('utf8').split('\0');
      checkLogin(user, password);
    };

    const handle = (line: string) => {
      if (data) {
        if (line === '.') {
          const mail: ReceivedMail = { login, envelopeFrom: from, envelopeTo: to, raw: data.join('\r\n') };
          data = undefined;
          const refusal = this.behaviour.onData?.(mail);
          if (refusal) return reply(refusal);
          this.received.push(mail);
          return reply('250 2.0.0 Ok: queued');
        }
        data.push(line.startsWith('..') ? line.slice(1) : line);
        return;
      }
      if (awaiting === 'plain') {
        awaiting = undefined;
        return plain(line);
      }
      if (awaiting === 'login-user') {
        loginUser = Buffer.from(line, 'base64').toString('utf8');
        awaiting = 'login-pass';
        return reply(`334 ${Buffer.from('Password:').toString('base64')}`);
      }
      if (awaiting === 'login-pass') {
        awaiting = undefined;
        return checkLogin(loginUser, Buffer.from(line, 'base64').toString('utf8'));
      }
      const [verb = '', ...rest] = line.split(' ');
      const arg = rest.join(' ');
      switch (verb.toUpperCase()) {
        case 'EHLO':
          return reply('250-mail.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME');
        case 'HELO':
          return reply('250 mail.test');
        case 'AUTH': {
          const [method = '', initial] = arg.split(' ');
          if (method.toUpperCase() === 'PLAIN') {
            if (initial) return plain(initial);
            awaiting = 'plain';
            return reply('334 ');
          }
          if (method.toUpperCase() === 'LOGIN') {
            awaiting = 'login-user';
            return reply(`334 ${Buffer.from('Username:').toString('base64')}`);
          }
          return reply('504 5.5.4 Unrecognized authentication type');
        }
        case 'MAIL':
          if (this.behaviour.login && !login) return reply('530 5.7.0 Authentication required');
          from = /<([^>]*)>/.exec(arg)?.[1] ?? '';
          to = [];
          return reply('250 2.1.0 Ok');
        case 'RCPT': {
          const address = /<([^>]*)>/.exec(arg)?.[1] ?? '';
          const refusal = this.behaviour.onRcpt?.(address);
          if (refusal) return reply(refusal);
          to.push(address);
          return reply('250 2.1.5 Ok');
        }
        case 'DATA':
          if (to.length === 0) return reply('554 5.5.1 No valid recipients');
          data = [];
          return reply('354 End data with <CR><LF>.<CR><LF>');
        case 'RSET':
          from = '';
          to = [];
          return reply('250 2.0.0 Ok');
        case 'NOOP':
          return reply('250 2.0.0 Ok');
        case 'QUIT':
          reply('221 2.0.0 Bye');
          return socket.end();
        default:
          return reply('502 5.5.2 Command not recognized');
      }
    };

    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let i = buffer.indexOf('\r\n'); i >= 0; i = buffer.indexOf('\r\n')) {
        const line = Buffer.from(buffer.slice(0, i), 'latin1').toString('utf8');
        buffer = buffer.slice(i + 2);
        handle(line);
      }
    });
    reply('220 mail.test ESMTP test receiver');
  }
}

// ------------------------------------------------------------------------------------------------ MIME

/** One MIME part: its headers (lower-case names, decoded values), its decoded body and its children. */
export interface MimePart {
  headers: Map<string, string>;
  contentType: string;
  /** The body after its Content-Transfer-Encoding, as bytes. */
  body: Buffer;
  parts: MimePart[];
}

/** Decodes RFC 2047 encoded words (=?UTF-8?B?…?= / =?UTF-8?Q?…?=); adjacent words join without the space. */
export function decodeHeader(value: string): string {
  const joined = value.replace(/(\?=)\s+(=\?)/g, '$1$2');
  return joined.replace(/(?:=\?([^?]+)\?([BbQq])\?([^?]*)\?=)+/g, (run) => {
    const bytes: Buffer[] = [];
    for (const m of run.matchAll(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g)) {
      const [, , enc = '', text = ''] = m;
      if (enc.toUpperCase() === 'B') bytes.push(Buffer.from(text, 'base64'));
      else bytes.push(qpBytes(text.replace(/_/g, ' ')));
    }
    return Buffer.concat(bytes).toString('utf8');
  });
}

function qpBytes(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const hex = text.slice(i + 1, i + 3);
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(out);
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.set(line.slice(0, colon).trim().toLowerCase(), decodeHeader(line.slice(colon + 1).trim()));
  }
  return headers;
}

function param(header: string, name: string): string | undefined {
  const m = new RegExp(`${name}\\*?=("([^"]*)"|[^;\\s]+)`, 'i').exec(header);
  return m ? (m[2] ?? m[1]) : undefined;
}

/** Parses a raw message (CRLF lines) into its tree of parts. */
export function parseMime(raw: string): MimePart {
  const split = raw.indexOf('\r\n\r\n');
  const headers = parseHeaders(split < 0 ? raw : raw.slice(0, split));
  const content = split < 0 ? '' : raw.slice(split + 4);
  const typeHeader = headers.get('content-type') ?? 'text/plain';
  const contentType = typeHeader.split(';')[0]!.trim().toLowerCase();
  const boundary = param(typeHeader, 'boundary');
  if (contentType.startsWith('multipart/') && boundary) {
    const pieces = content.split(`--${boundary}`);
    const parts = pieces
      .slice(1)
      .filter((p) => !p.startsWith('--'))
      .map((p) => parseMime(p.replace(/^\r\n/, '').replace(/\r\n$/, '')));
    return { headers, contentType, body: Buffer.alloc(0), parts };
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const body =
    encoding === 'base64'
      ? Buffer.from(content.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? qpBytes(content.replace(/=\r\n/g, ''))
        : Buffer.from(content, 'utf8');
  return { headers, contentType, body, parts: [] };
}

/** Every leaf part, depth first. */
export function leaves(part: MimePart): MimePart[] {
  return part.parts.length === 0 ? [part] : part.parts.flatMap(leaves);
}

/** The attachment file name of a part, if it is one. */
export function attachmentName(part: MimePart): string | undefined {
  const disposition = part.headers.get('content-disposition') ?? '';
  return disposition.toLowerCase().startsWith('attachment') ? param(disposition, 'filename') : undefined;
}
