/**
 * User agents of link-preview fetchers (unfurlers): they fetch a link to show
 * a card when it is pasted into a chat or post, not because a person clicked.
 * They get the redirect without consuming a max-clicks visit (docs/design.md section 5).
 * Each entry is a token of the fetcher's documented User-Agent.
 */
export const PREVIEW_BOT_TOKENS: readonly string[] = [
  'Slackbot-LinkExpanding', // Slack
  'Slack-ImgProxy', // Slack image proxy
  'facebookexternalhit', // Facebook, Messenger, Instagram
  'Facebot', // Facebook
  'meta-externalagent', // Meta
  'Twitterbot', // X (Twitter)
  'WhatsApp', // WhatsApp
  'Discordbot', // Discord
  'TelegramBot', // Telegram
  'LinkedInBot', // LinkedIn
  'Mastodon', // Mastodon instances ("http.rb/... (Mastodon/4.x; +https://...)")
  'Pleroma', // Pleroma / Akkoma
  'SkypeUriPreview', // Skype, Teams
  'MicrosoftPreview', // Teams, Outlook
  'Iframely', // Iframely (used by Notion, Medium, ...)
  'redditbot', // Reddit
  'Pinterestbot', // Pinterest
  'vkShare', // VK
  'Embedly', // Embedly
  'Google-PageRenderer', // Google Chat
  'Applebot', // iMessage previews
  'Snap URL Preview Service', // Snapchat
  'Bluesky Cardyb', // Bluesky
  'Line/', // LINE
  'Viber', // Viber
  'Signal', // Signal (link previews fetched by the client)
];

const PATTERN = new RegExp(PREVIEW_BOT_TOKENS.map((t) => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'i');

/** Whether a User-Agent belongs to a link-preview fetcher. */
export function isPreviewBot(userAgent: string | undefined): boolean {
  return userAgent !== undefined && PATTERN.test(userAgent);
}
