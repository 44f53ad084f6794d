/**
 * The group notifications' tables as a county's collector leaves them after a morning (targets, what
 * was sent, one message waiting for its retry after a 45009, one refused for a wrong signature), for the
 * console's screenshots and its phone test. The messages are the real words (county/notify/messages.ts,
 * pack.ts), not typed here.
 */
import type { CountyStore } from '../../county/open-store.js';
import { noticeText, type Notice } from '../../county/notify/messages.js';
import { pack } from '../../county/notify/pack.js';
import type { StationIdentity } from '../fleet/generate.js';

export async function seedNotifyTables(store: CountyStore, ids: readonly StationIdentity[], nowMs = Date.now()): Promise<void> {
  const q = store.notify;
  const town = ids[0]!.town;
  const other = ids.find((s) => s.town !== town)?.town ?? town;
  await q.setNotifyTargets(
    [
      { id: 'county-wecom', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***', towns: 'all', lang: 'zh' },
      { id: 'chengguan-dingtalk', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=***', towns: [town], lang: 'zh' },
      { id: 'hekou-feishu', kind: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/***', towns: [other], lang: 'zh' },
      { id: 'county-oa', kind: 'webhook', url: 'https://oa.county.example/hooks/stations', towns: 'all', lang: 'en' },
    ],
    nowMs - 3 * 3_600_000,
  );
  const ofTown = ids.filter((s) => s.town === town);
  const offline = (s: StationIdentity, minutes: number): Notice => ({ kind: 'station_offline', town: s.town, station_id: s.id, station_name: s.name, detail: { minutes } });
  const at = (minAgo: number) => nowMs - minAgo * 60_000;
  // A power cut in one town at dawn: one summary naming every station, then one back online.
  const cut = ofTown.slice(0, 25).map((s) => offline(s, 32));
  const summary = pack(cut.map((notice, id) => ({ id, notice })), 1, 'zh')[0]!.text;
  const first = ofTown[0]!;
  const fault: Notice = { kind: 'device_fault', town: other, station_id: ids[1]!.id, station_name: ids[1]!.name, detail: { device: 'projector-1', fault_zh: '灯泡寿命将尽', fault_en: 'lamp near its end' } };
  const sent: Array<{ target: string; notices: Notice[]; text: string; at: number }> = [
    { target: 'county-wecom', notices: cut, text: summary, at: at(190) },
    { target: 'chengguan-dingtalk', notices: [offline(first, 35)], text: noticeText(offline(first, 35), 'zh'), at: at(185) },
    ...[{ kind: 'station_online', town: first.town, station_id: first.id, station_name: first.name } as Notice].map((n) => ({ target: 'county-wecom', notices: [n], text: noticeText(n, 'zh'), at: at(120) })),
    { target: 'county-oa', notices: [fault], text: noticeText(fault, 'en'), at: at(60) },
  ];
  for (const m of sent) {
    await q.enqueue(m.notices.map((notice) => ({ target: m.target, notice })), m.at);
    const items = await q.due(m.target, m.at, m.notices.length);
    await q.settle(m.target, items.map((i) => i.id), { state: 'sent', text: m.text }, m.at);
  }
  await q.noteTargetResult('county-wecom', 'sent', null, at(120));
  await q.noteTargetResult('county-oa', 'sent', null, at(60));
  // Waiting: a fault told to the county's group, refused once as too fast; and one the Feishu group's
  // wrong secret will never deliver.
  await q.enqueue([{ target: 'county-wecom', notice: fault }], at(2));
  const [waiting] = await q.due('county-wecom', at(2), 1);
  await q.settle('county-wecom', [waiting!.id], { state: 'retry', reason: '45009 api freq out of limit', nextMs: nowMs + 13_000 }, at(1));
  await q.noteTargetResult('county-wecom', 'retry', '45009 api freq out of limit', at(1));
  await q.enqueue([{ target: 'hekou-feishu', notice: fault }], at(2));
  const [refused] = await q.due('hekou-feishu', at(2), 1);
  await q.settle('hekou-feishu', [refused!.id], { state: 'failed', reason: '19021 sign match fail or timestamp is not within one hour from current time' }, at(2));
  await q.noteTargetResult('hekou-feishu', 'failed', '19021 sign match fail or timestamp is not within one hour from current time', at(2));
}
