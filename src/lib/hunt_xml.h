/* A lenient reader of one event's XML (as libevtx renders a record): the header fields
 * and the named <Data Name="..."> values hunt_event needs. It does not require
 * well-formed XML (undeclared prefixes, control characters, stray '&' pass): it looks for
 * the elements it knows and decodes the five entities and numeric references. */
#ifndef SMSS_HUNT_XML_H
#define SMSS_HUNT_XML_H
#include "buf.h"
#include "hunt_event.h"

/* Fill e from xml[0..len); decoded strings live in scratch (reset first), so e is
 * valid until scratch changes. False when the text has no EventID. */
bool hunt_xml_event(const char *xml, size_t len, struct hunt_event *e, struct buf *scratch);

#endif
