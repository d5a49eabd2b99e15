#include "topics.h"

#define MQTT_STRING_MAX 65535u

static const char *escape_of(char c) {
  switch (c) {
    case '%': return "%25";
    case '+': return "%2B";
    case '#': return "%23";
    case '\0': return "%00";
    default: return NULL;
  }
}

int topic_for(pf_str prefix, pf_str address, pf_str *out) {
  size_t sep = 0;
  int found = 0;
  for (; sep + 3 <= address.len; sep++) {
    if (address.ptr[sep] == ':' && address.ptr[sep + 1] == '/' && address.ptr[sep + 2] == '/') {
      found = 1;
      break;
    }
  }
  if (!found || sep == 0) return TOPIC_NOT_AN_ADDRESS;

  // Measure first, so the topic is one exact allocation.
  size_t size = prefix.len + address.len - 2;  // "://" becomes "/"
  for (size_t i = 0; i < address.len; i++) {
    if (escape_of(address.ptr[i])) size += 2;
  }
  if (size > MQTT_STRING_MAX) return TOPIC_NOT_AN_ADDRESS;

  char *topic = pf_alloc(size ? size : 1);
  if (!topic) return TOPIC_OOM;
  size_t at = 0;
  memcpy(topic, prefix.ptr, prefix.len);
  at += prefix.len;
  for (size_t i = 0; i < address.len; i++) {
    if (i == sep) {
      topic[at++] = '/';
      i += 2;
      continue;
    }
    const char *e = escape_of(address.ptr[i]);
    if (e) {
      memcpy(topic + at, e, 3);
      at += 3;
    } else {
      topic[at++] = address.ptr[i];
    }
  }
  *out = (pf_str){topic, at};
  return TOPIC_OK;
}
