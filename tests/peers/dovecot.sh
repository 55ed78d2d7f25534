#!/usr/bin/env bash
# A throwaway Dovecot IMAP server for gazette's end-to-end tests (Debian's dovecot-imapd).
#
#   tests/peers/dovecot.sh DIR PORT
#
# Writes DIR/dovecot.conf, a passwd-file with one user (`bounces`, password `secret`) whose
# mail lives in DIR/home/bounces/Maildir, and runs `dovecot -F` in the foreground on
# 127.0.0.1:PORT, unprivileged: as the calling user, or as `nobody` when called as root (the
# folder is handed to nobody first). Deliver into the mailbox with
#   DIR/deliver RECIPIENT < message      (Dovecot's own LDA, as an MTA would)
# Stops when killed (SIGTERM). Prints nothing itself; Dovecot's log goes to DIR/dovecot.log.
set -euo pipefail
dir=$(cd "$1" && pwd)
port=$2
if [ "$(id -u)" = 0 ]; then
  user=nobody
  group=$(id -gn nobody)
  run=(setpriv --reuid=nobody --regid="$group" --clear-groups --)
else
  user=$(id -un)
  group=$(id -gn)
  run=()
fi
uid=$(id -u "$user")
gid=$(getent group "$group" | cut -d: -f3)
mkdir -p "$dir/run" "$dir/home/bounces/Maildir"/{new,cur,tmp}
printf 'bounces:{PLAIN}secret:%s:%s::%s/home/bounces\n' "$uid" "$gid" "$dir" >"$dir/passwd"
cat >"$dir/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/run
log_path = $dir/dovecot.log
info_log_path = $dir/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = $user
default_internal_group = $group
default_login_user = $user
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:~/Maildir
recipient_delimiter = +
lda_original_recipient_header = X-Original-To
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $dir/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%n $dir/passwd
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
CONF
cat >"$dir/deliver" <<SH
#!/usr/bin/env bash
# Delivers stdin to the bounces mailbox as an MTA would hand it to Dovecot's LDA.
exec ${run[*]} /usr/lib/dovecot/dovecot-lda -c $dir/dovecot.conf -d bounces -a "\$1" -f MAILER-DAEMON
SH
chmod +x "$dir/deliver"
if [ "$(id -u)" = 0 ]; then
  chown -R nobody:"$group" "$dir"
fi
exec "${run[@]}" /usr/sbin/dovecot -F -c "$dir/dovecot.conf"
