#!/usr/bin/env bash
# Nightly backup of the worktrack database with rotation: make a new backup directory under
# BACKUP_ROOT, then keep only the newest KEEP complete backups (those with a manifest.json).
# Signs the backup when WORKTRACK_BACKUP_SIGN_KEY names a key file.
#
#   deploy/backup-rotate.sh [BACKUP_ROOT] [KEEP]
#
# Defaults: BACKUP_ROOT=$WORKTRACK_BACKUP_ROOT or /var/backups/worktrack, KEEP=$WORKTRACK_BACKUP_KEEP or 14.
# The database is WORKTRACK_DB (see README.md, settings). Exit status: that of the backup command.
set -euo pipefail
umask 077

here="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-${WORKTRACK_BACKUP_ROOT:-/var/backups/worktrack}}"
keep="${2:-${WORKTRACK_BACKUP_KEEP:-14}}"
python="${WORKTRACK_PYTHON:-$here/.venv/bin/python}"

case "$keep" in
  ''|*[!0-9]*) echo "backup-rotate: KEEP must be a whole number, got '$keep'" >&2; exit 2 ;;
esac
if [ "$keep" -lt 1 ]; then
  echo "backup-rotate: KEEP must be at least 1" >&2; exit 2
fi

mkdir -p "$root"
chmod 700 "$root"
# Sortable by name in time order; nanoseconds keep two runs in one second apart.
target="$root/worktrack-$(date -u +%Y%m%dT%H%M%S.%NZ)"

if ! (cd "$here" && "$python" -m worktrack backup "$target"); then
  echo "backup-rotate: backup to $target failed; older backups left as they are" >&2
  exit 1
fi
echo "backup-rotate: wrote $target"

# Complete backups only (a manifest is written last), oldest first; remove all but the newest $keep.
mapfile -t complete < <(find "$root" -mindepth 1 -maxdepth 1 -type d -name 'worktrack-*' \
                          -exec test -f '{}/manifest.json' ';' -print | sort)
excess=$(( ${#complete[@]} - keep ))
for (( i = 0; i < excess; i++ )); do
  echo "backup-rotate: removing old backup ${complete[$i]}"
  rm -rf -- "${complete[$i]}"
done
