/**
 * The county web console's command line (docs/county.md "The web console"):
 *
 *   node dist/county/console.js --db county.db --users console-users --http 127.0.0.1:8080 \
 *        [--url mqtt://broker:1883 --command-key-file county.key] [--timezone Asia/Shanghai] [--secure-cookies]
 *   node dist/county/console.js --config /etc/station-county/county.yaml   (flags override the file)
 *   node dist/county/console.js user add --users console-users alice --role operator   (password on stdin)
 *   node dist/county/console.js user add --users console-users zhang --role town --town 城关镇
 *   node dist/county/console.js user add --users console-users boss --role admin       (manages accounts in the browser)
 *   node dist/county/console.js user passwd --users console-users alice                 (password on stdin)
 *   node dist/county/console.js user role --users console-users alice viewer   (town: … alice town --town 城关镇)
 *   node dist/county/console.js user remove --users console-users alice
 * A running console re-reads the accounts file at its next request: a changed or removed account's
 * sign-ins end then (docs/county.md "Accounts and sign-in").
 *   node dist/county/console.js user list --users console-users
 */
import { pathToFileURL } from 'node:url';
import { Argument, Command, Option } from 'commander';
import { createLogger } from './log.js';
import { AccountFile, ROLES, readAccounts, removeAccount, roleTown, setPassword, setRole, upsertAccount, type Role } from './console/accounts.js';
import { AUDIT_MIN_DAYS, auditCutoff } from './audit.js';
import { openCollectorStore } from './open-store.js';
import { Pusher } from './console/pusher.js';
import { startConsole } from './console/server.js';
import { isTimeZone } from './console/time.js';
import { addBrokerOptions, brokerAccess, warnOpenSecret } from './broker-access.js';
import { addConfigOption, failAndExit, MAX_TARGET_HOURS, MAX_TARGET_SESSIONS, offlineAfterS, twoDecimals } from './config.js';
import { monthlyTarget } from './bulletin.js';
import type { BulletinSettings } from './console/context.js';
import { OFFLINE_AFTER_S } from './visits.js';


/** `host:port` or `[v6]:port`; the console binds where it is told, loopback by default. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--http must be host:port (e.g. 127.0.0.1:8080), got ${JSON.stringify(value)}`);
  return { host: m[1] ?? m[2]!, port };
}

/** The password: typed without echo on a terminal, else the first line of stdin (scripts, tests). */
async function readPassword(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) {
      text += String(chunk);
      if (text.length > 4096) break;
    }
    return text.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let pw = '';
    const done = (result: string | Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(pw);
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1);
        else if (pw.length < 4096) pw += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The monthly 通报's name and target from the options, checked as the config file's keys are. */
export function bulletinOptions(o: Record<string, string | boolean | undefined>): BulletinSettings {
  const sessions = o['monthlyTargetSessions'] === undefined ? undefined : Number(o['monthlyTargetSessions']);
  const hours = o['monthlyTargetHours'] === undefined ? undefined : Number(o['monthlyTargetHours']);
  if ((sessions === undefined) !== (hours === undefined)) throw new Error('--monthly-target-sessions and --monthly-target-hours go together');
  if (sessions !== undefined && !(Number.isInteger(sessions) && sessions >= 1 && sessions <= MAX_TARGET_SESSIONS)) throw new Error(`--monthly-target-sessions must be 1–${MAX_TARGET_SESSIONS}`);
  if (hours !== undefined && !(hours >= 0.01 && hours <= MAX_TARGET_HOURS && twoDecimals(hours))) throw new Error(`--monthly-target-hours must be 0.01–${MAX_TARGET_HOURS} with at most two decimals`);
  const name = o['countyName'] === undefined ? undefined : String(o['countyName']).trim();
  if (name !== undefined && (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name))) throw new Error('--county-name must be 1–64 characters, no control characters');
  return { countyName: name, target: monthlyTarget(sessions, hours) };
}

/** `user add|remove|list --config FILE` take only the accounts file from it. */
const USERS_ONLY = { withDb: false, keys: ['users'] } as const;

export async function main(argv: string[]): Promise<void> {
  const program = new Command('console').description('county web console for station-agent').showHelpAfterError();

  const serve = program
    .command('serve', { isDefault: true })
    .description('serve the console until stopped (SIGINT/SIGTERM)');
  addConfigOption(serve, 'console')
    .requiredOption('--db <file|url>', 'the collector database: a SQLite file or postgres://user@host/db')
    .option('--create', 'create the SQLite database file when it does not exist; without it a missing file is an error')
    .requiredOption('--users <file>', 'accounts file (console.js user add)')
    .option('--http <host:port>', 'where to listen; keep it on loopback behind a TLS reverse proxy', '127.0.0.1:8080')
    .option('--url <url>', 'broker URL (mqtt:// or mqtts://) for sending schedules; without it the console only reads');
  addBrokerOptions(serve, 'signs the schedules the console sends')
    .option('--timezone <tz>', "the county's time zone", 'Asia/Shanghai')
    .option('--secure-cookies', 'mark cookies Secure and send HSTS (users reach the console over https)')
    .option('--trust-proxy', 'take the client address from X-Real-IP (set by the reverse proxy)')
    .option('--max-failures <n>', 'failed sign-ins before an account is locked', '5')
    .option('--lockout-min <minutes>', 'how long a locked account stays locked', '15')
    .option('--county-name <name>', "the monthly bulletin's title (default: the county most stations report)")
    .option('--monthly-target-sessions <n>', 'sessions each station should reach in a month (with --monthly-target-hours)')
    .option('--monthly-target-hours <h>', 'hours each station should reach in a month, up to two decimals (with --monthly-target-sessions)')
    .option('--offline-after-s <seconds>', `a lost connection needs a visit after this long within the station's opening hours (${OFFLINE_AFTER_S.min}–${OFFLINE_AFTER_S.max}, default ${OFFLINE_AFTER_S.default}; config visits.offline_after_s)`)
    .option('--audit-days <days>', `days the audit log is kept (at least ${AUDIT_MIN_DAYS})`, String(AUDIT_MIN_DAYS))
    .addOption(new Option('--log-level <level>').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const log = createLogger(o['logLevel'] as 'info', process.stderr);
      const listen = parseListen(o['http'] as string);
      const timezone = o['timezone'] as string;
      if (!isTimeZone(timezone)) throw new Error(`unknown time zone ${timezone}`);
      const maxFailures = Number(o['maxFailures']);
      const lockoutMin = Number(o['lockoutMin']);
      if (!Number.isInteger(maxFailures) || maxFailures < 1 || maxFailures > 100) throw new Error('--max-failures must be 1–100');
      if (!(lockoutMin > 0 && lockoutMin <= 24 * 60)) throw new Error('--lockout-min must be 1–1440');
      const bulletin = bulletinOptions(o);
      const offlineAfter = offlineAfterS(o['offlineAfterS'] as string | undefined);
      const auditDays = Number(o['auditDays']);
      auditCutoff(0, auditDays); // refuses fewer than 180 days, in both languages
      const accounts = new AccountFile(o['users'] as string);
      warnOpenSecret(o['users'] as string, '--users', log);
      const store = await openCollectorStore(o['db'] as string, {}, { mustExist: o['create'] !== true });
      const pusher = o['url']
        ? await Pusher.start({ url: o['url'] as string, store, log, ...brokerAccess(o, log) })
        : undefined;
      if (!/^(127\.|localhost$|::1$)/.test(listen.host)) log.warn({ host: listen.host }, 'the console listens beyond loopback: put it behind a TLS reverse proxy');
      const server = await startConsole({
        store,
        accounts,
        host: listen.host,
        port: listen.port,
        timezone,
        log,
        ...(pusher ? { pusher } : {}),
        secureCookies: o['secureCookies'] === true,
        trustProxy: o['trustProxy'] === true,
        lockout: { maxFailures, lockMs: lockoutMin * 60_000 },
        bulletin,
        rules: { offlineAfterS: offlineAfter },
        auditDays,
      });
      // The URL on stdout: scripts and tests that asked for port 0 learn where to connect.
      process.stdout.write(`console listening on ${server.url}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await pusher?.stop();
      await store.close();
    });

  const user = program.command('user').description('console accounts (scrypt-hashed passwords in the accounts file)');
  const userAdd = user
    .command('add')
    .description('add an account or change its role and password (password typed, or the first line of stdin)');
  addConfigOption(userAdd, 'console', USERS_ONLY)
    .requiredOption('--users <file>')
    .argument('<name>')
    .addOption(new Option('--role <role>').choices([...ROLES]).default('viewer'))
    .option('--town <town>', 'the town a town account sees and pushes to (as its stations report it)')
    .action(async (name: string, o: { users: string; role: Role; town?: string }) => {
      roleTown(o.role, o.town); // refuse a missing or stray town before asking for the password
      const password = await readPassword(`password for ${name}: `);
      await upsertAccount(o.users, name, o.role, password, o.town ?? null);
      process.stdout.write(`${name} (${o.role}${o.town ? ` ${o.town}` : ''}) saved in ${o.users}\n`);
    });
  addConfigOption(user.command('passwd'), 'console', USERS_ONLY)
    .description("change an account's password (typed, or the first line of stdin); its sign-ins end")
    .requiredOption('--users <file>')
    .argument('<name>')
    .action(async (name: string, o: { users: string }) => {
      const password = await readPassword(`new password for ${name}: `);
      await setPassword(o.users, name, password);
      process.stdout.write(`${name}: password changed in ${o.users}\n`);
    });
  addConfigOption(user.command('role'), 'console', USERS_ONLY)
    .description("change an account's role; its sign-ins end")
    .requiredOption('--users <file>')
    .argument('<name>')
    .addArgument(new Argument('<role>').choices([...ROLES]))
    .option('--town <town>', 'the town, for the town role')
    .action((name: string, role: Role, o: { users: string; town?: string }) => {
      setRole(o.users, name, role, o.town ?? null);
      process.stdout.write(`${name} is now ${role}${o.town ? ` ${o.town}` : ''} in ${o.users}\n`);
    });
  addConfigOption(user.command('remove'), 'console', USERS_ONLY)
    .description('remove an account; its sign-ins end')
    .requiredOption('--users <file>')
    .argument('<name>')
    .action((name: string, o: { users: string }) => {
      if (!removeAccount(o.users, name)) throw new Error(`no account ${name} in ${o.users}`);
      process.stdout.write(`${name} removed\n`);
    });
  addConfigOption(user.command('list'), 'console', USERS_ONLY)
    .requiredOption('--users <file>')
    .action((o: { users: string }) => {
      for (const a of readAccounts(o.users)) process.stdout.write(`${a.name}\t${a.role}${a.town === null ? '' : `\t${a.town}`}\n`);
    });

  await program.parseAsync(argv, { from: 'user' });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => failAndExit('console', err));
}
