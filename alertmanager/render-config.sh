#!/bin/sh
# Fill this deployment's Telegram bot token and chat into alertmanager.yml.
#
#   render-config.sh TEMPLATE OUTPUT
#   render-config.sh TEMPLATE OUTPUT -- /bin/alertmanager --config.file=OUTPUT ...   # then run it
#
# The telegram-direct receiver is the way out for alerts longrun may be unable
# to deliver itself (every instance down, the store down). Alertmanager 0.25
# reads a Telegram bot token only inline (no bot_token_file), so this script
# copies TEMPLATE to OUTPUT (mode 600: it holds the token) with
#   bot_token  from the file TELEGRAM_BOT_TOKEN_FILE (default /run/secrets/telegram_bot_token),
#              else the variable TELEGRAM_BOT_TOKEN (as longrun itself reads it)
#   chat_id    from ALERTMANAGER_TELEGRAM_CHAT_ID, else the first numeric id of
#              TELEGRAM_CHAT_ID (Alertmanager takes a number, not @channel)
# Without both, the route and its receiver are left out and a warning says so.
# The token is passed to awk in its environment, never on a command line.
set -eu

if [ $# -lt 2 ]; then
    echo "usage: render-config.sh TEMPLATE OUTPUT [-- COMMAND...]" >&2
    exit 64
fi
template=$1
output=$2
shift 2

token_file=${TELEGRAM_BOT_TOKEN_FILE:-/run/secrets/telegram_bot_token}
token=""
if [ -r "$token_file" ]; then
    token=$(tr -d ' \t\r\n' < "$token_file")
else
    token=${TELEGRAM_BOT_TOKEN:-}
    token_file="TELEGRAM_BOT_TOKEN"
fi

is_number() {  # an optional minus, then digits only
    case ${1#-} in
        "" | *[!0-9]*) return 1 ;;
    esac
}

chat=${ALERTMANAGER_TELEGRAM_CHAT_ID:-}
if [ -z "$chat" ]; then
    for candidate in $(echo "${TELEGRAM_CHAT_ID:-}" | tr ',' ' '); do
        if is_number "$candidate"; then
            chat=$candidate
            break
        fi
    done
fi

case $token in
    *[!A-Za-z0-9:_-]*) echo "render-config: the bot token ($token_file) has characters a Telegram token never has; refusing it" >&2; exit 65 ;;
esac
if [ -n "$chat" ] && ! is_number "$chat"; then
    echo "render-config: chat id '$chat' is not a number (Alertmanager needs the numeric id, e.g. -1001234)" >&2
    exit 65
fi

umask 077
if [ -n "$token" ] && [ -n "$chat" ]; then
    LONGRUN_RENDER_TOKEN=$token LONGRUN_RENDER_CHAT=$chat awk '
        /# longrun-render: TELEGRAM_BOT_TOKEN$/ { sub(/bot_token:.*/, "bot_token: \"" ENVIRON["LONGRUN_RENDER_TOKEN"] "\"") }
        /# longrun-render: TELEGRAM_CHAT_ID$/   { sub(/chat_id:.*/, "chat_id: " ENVIRON["LONGRUN_RENDER_CHAT"]) }
        { print }
    ' "$template" > "$output"
    echo "render-config: alerts labelled delivery=\"direct\" also go straight to Telegram chat $chat" >&2
else
    awk '
        /# longrun-render: begin direct/ { skipping = 1 }
        !skipping { print }
        /# longrun-render: end direct/   { skipping = 0 }
    ' "$template" > "$output"
    echo "render-config: WARNING: no Telegram bot token ($token_file) or numeric chat id (TELEGRAM_CHAT_ID):" \
         "alerts that longrun cannot deliver itself (every instance down, store down) reach nobody." \
         "Set both to give them a way out." >&2
fi

if [ $# -gt 0 ]; then
    [ "$1" = "--" ] && shift
    exec "$@"
fi
