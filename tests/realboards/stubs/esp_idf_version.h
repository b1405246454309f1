/* STAND-IN for ESP-IDF's version header (tests only): -DKIT_STUB_IDF_MAJOR=4 selects IDF 4.x. */
#ifndef KIT_STUB_ESP_IDF_VERSION_H
#define KIT_STUB_ESP_IDF_VERSION_H
#ifdef KIT_STUB_IDF_MAJOR
#define ESP_IDF_VERSION_MAJOR KIT_STUB_IDF_MAJOR
#else
#define ESP_IDF_VERSION_MAJOR 5
#endif
#endif
